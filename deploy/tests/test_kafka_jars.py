from pathlib import Path

import pytest

from seevee_deploy.kafka_jars import KafkaResolutionError, cached_jars, ensure_kafka_jars

VERSIONS = ("4.1.2", "4.1.1")


def _resolved(cache: Path, version: str) -> Path:
    home = cache / f"kafka-{version}"
    (home / "libs").mkdir(parents=True)
    (home / ".resolved").write_text(version)
    return home / "libs"


@pytest.mark.parametrize(
    ("resolved", "partial", "expected"),
    [
        ([], [], None),
        (["4.1.2"], [], "4.1.2"),
        (["4.1.1"], [], "4.1.1"),
        (["4.1.1", "4.1.2"], [], "4.1.2"),
        ([], ["4.1.2"], None),
        (["4.1.1"], ["4.1.2"], "4.1.1"),
    ],
)
def test_cached_jars_prefer_the_first_version_whose_resolution_finished(
    tmp_path: Path, resolved: list[str], partial: list[str], expected: str | None
) -> None:
    for version in resolved:
        _resolved(tmp_path, version)
    for version in partial:
        (tmp_path / f"kafka-{version}" / "libs").mkdir(parents=True)

    found = cached_jars(tmp_path, VERSIONS)

    assert (found.version if found else None) == expected


def test_resolved_jars_are_reused_without_running_maven(tmp_path: Path) -> None:
    libs = _resolved(tmp_path, "4.1.2")

    jars = ensure_kafka_jars(tmp_path, VERSIONS, mvn=str(tmp_path / "no-such-mvn"))

    assert jars.libs == libs
    assert jars.classpath == f"{libs}/*"


def test_every_version_failing_reports_each_failure(tmp_path: Path) -> None:
    with pytest.raises(KafkaResolutionError) as failure:
        ensure_kafka_jars(tmp_path, VERSIONS, mvn=str(tmp_path / "no-such-mvn"))

    assert "Kafka 4.1.2" in str(failure.value)
    assert "Kafka 4.1.1" in str(failure.value)
    assert cached_jars(tmp_path, VERSIONS) is None


def _maven_refusing(tmp_path: Path, refused: str) -> Path:
    """A stand-in for ``mvn`` that refuses one Kafka version and copies a jar for any other."""
    script = tmp_path / "mvn"
    script.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case "$arg" in\n'
        "  -Dkafka.version=*) version=${arg#-Dkafka.version=} ;;\n"
        "  -DoutputDirectory=*) out=${arg#-DoutputDirectory=} ;;\n"
        "esac; done\n"
        f'if [ "$version" = "{refused}" ]; then echo "Could not resolve kafka_2.13:$version"; exit 1; fi\n'
        'touch "$out/kafka_2.13-$version.jar"\n'
    )
    script.chmod(0o755)
    return script


def test_a_refused_version_falls_back_to_the_next_and_is_remembered(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    mvn = _maven_refusing(tmp_path, refused="4.1.2")

    jars = ensure_kafka_jars(cache, VERSIONS, mvn=str(mvn))

    assert jars.version == "4.1.1"
    assert (jars.libs / "kafka_2.13-4.1.1.jar").is_file()
    assert cached_jars(cache, VERSIONS) == jars
    assert not (cache / "kafka-4.1.2" / ".resolved").exists()


def test_maven_succeeding_without_the_broker_jar_is_a_failure(tmp_path: Path) -> None:
    script = tmp_path / "mvn"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)

    with pytest.raises(KafkaResolutionError, match="exited 0"):
        ensure_kafka_jars(tmp_path / "cache", VERSIONS, mvn=str(script))
