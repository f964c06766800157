"""The Kafka download tells how far it is and where the jars go (issue 20, item 7)."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from rich.console import Console

from tools import kafka_local
from tools.kafka_local import DownloadProgress

pytestmark = pytest.mark.timeout(60)

VERSION = kafka_local.kafka_version()


def _line(name: str, size: str) -> str:
    return (f"[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/x/{name} "
            f"({size} at 2.1 MB/s)\n")


def test_progress_counts_jar_bytes_against_the_expected_total_and_prints_a_line_every_few_mb() -> None:
    p = DownloadProgress("4.1.1", line_bytes=5_000_000)
    assert p.feed(_line("kafka_2.13-4.1.1.pom", "12 kB")) == []  # a POM: not in the total
    assert p.feed(_line("a.jar", "3.0 MB")) == []
    out = p.feed(_line("b.jar", "2500 kB"))
    assert out == ["  downloaded 5.5 MB of ~44.2 MB (12%), 2 jars"]
    assert p.feed(_line("c.jar", "812 B")) == []
    assert p.feed(_line("d.jar", "11.0 MB")) == ["  downloaded 16.5 MB of ~44.2 MB (37%), 4 jars"]
    assert p.feed("[INFO] Copying a.jar to /tmp/libs.x/a.jar\n") == [
        "  downloaded 16.5 MB of ~44.2 MB (37%), 4 jars; copying the jars into the cache"]
    assert p.feed("[INFO] Copying b.jar to /tmp/libs.x/b.jar\n") == []
    assert (p.files, p.jars, p.copied) == (5, 4, 2)


def test_an_unknown_version_shows_sizes_without_a_percent() -> None:
    p = DownloadProgress("9.9.9", line_bytes=1_000_000)
    assert p.percent is None
    assert p.feed(_line("a.jar", "1.2 MB")) == ["  downloaded 1.2 MB, 1 jars"]


def test_the_fetch_says_where_it_caches_and_how_far_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in for Maven: prints download lines as Maven does and copies two jars.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(f"""#!/bin/sh
for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${{a#-DoutputDirectory=}}";; esac; done
echo "[INFO] Downloaded from central: https://repo/x/kafka_2.13-{VERSION}.jar (30 MB at 9 MB/s)"
echo "[INFO] Downloaded from central: https://repo/x/other.jar (15.5 MB at 9 MB/s)"
echo "[INFO] Copying kafka_2.13-{VERSION}.jar to $out/kafka_2.13-{VERSION}.jar"
printf 'jar' > "$out/kafka_2.13-{VERSION}.jar"
echo "[INFO] Copying other.jar to $out/other.jar"
printf 'jar' > "$out/other.jar"
""")
    mvn.chmod(mvn.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ONEWINDOW_KAFKA_HOME", str(tmp_path / "cache"))
    buf = io.StringIO()
    libs = kafka_local.ensure_jars(Console(file=buf, force_terminal=False, width=200))
    out = buf.getvalue()
    assert libs == tmp_path / "cache" / "libs" and (libs / f"kafka_2.13-{VERSION}.jar").exists()
    assert f"cache: {libs}" in out
    assert "downloaded 30.0 MB" in out and "downloaded 45.5 MB" in out
    if VERSION in kafka_local.EXPECTED_JARS:
        assert "%)" in out
    assert f"2 jars (0.0 MB, 2 downloaded now) cached in {libs}" in out
    # Cached: the second call is silent and instant.
    buf2 = io.StringIO()
    assert kafka_local.ensure_jars(Console(file=buf2, force_terminal=False)) == libs
    assert buf2.getvalue() == ""
