#!/bin/bash
# Healthy once the client listener accepts connections (services still wait for the topics themselves).
exec 3<>/dev/tcp/127.0.0.1/9092
