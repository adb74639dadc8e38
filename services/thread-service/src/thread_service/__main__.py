"""``python -m thread_service``: serve the API and run the consumers on THREADS_PORT (default 8004)."""

import uvicorn

from thread_service.settings import ThreadSettings


def main() -> None:
    settings = ThreadSettings()
    # a factory: the app holds Kafka clients, which must be created inside uvicorn's event loop
    uvicorn.run(
        "thread_service.app:create_app", factory=True, host=settings.host, port=settings.port, log_config=None
    )


if __name__ == "__main__":
    main()
