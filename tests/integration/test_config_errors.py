"""Bad files and flags: one clear line naming file, line and column, a
non-zero exit, and nothing started."""

import subprocess

from meshd_harness import MESHD_BIN, demo


def run(*args, cwd=None):
    return subprocess.run([MESHD_BIN, *args], capture_output=True, text=True, timeout=30, cwd=cwd)


def write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def test_validate_prints_waves(tmp_path):
    path = write(tmp_path, f"""version: 1
services:
  db: {{ command: ["{demo()[0]}"] }}
  api: {{ command: ["{demo()[0]}"], depends_on: [db] }}
  web: {{ command: ["{demo()[0]}"], depends_on: [api] }}
  cache: {{ command: ["{demo()[0]}"] }}
""")
    r = run("validate", "-c", str(path))
    assert r.returncode == 0, r.stderr
    assert "wave 1: db, cache" in r.stdout
    assert "wave 2: api" in r.stdout
    assert "wave 3: web" in r.stdout


def test_unknown_key_names_line_column_and_a_hint(tmp_path):
    path = write(tmp_path, """version: 1
services:
  api:
    command: ["x"]
    helth: { type: http }
""")
    for args in (["validate"], ["run", "--data-dir", str(tmp_path / "data")]):
        r = run(*args, "-c", str(path))
        assert r.returncode == 1, r
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert f"{path}:5:5:" in lines[0]
        assert "health" in lines[0]  # did-you-mean
    assert not (tmp_path / "data" / "meshd.db").exists()  # nothing started


def test_cycle_is_printed(tmp_path):
    path = write(tmp_path, """version: 1
services:
  a: { command: ["x"], depends_on: [b] }
  b: { command: ["x"], depends_on: [a] }
""")
    r = run("validate", "-c", str(path))
    assert r.returncode == 1
    assert "a -> b -> a" in r.stderr or "b -> a -> b" in r.stderr


def test_other_mistakes(tmp_path):
    cases = {
        "bad duration": ("version: 1\nservices:\n  a: { command: [x], health: { type: http, interval: fast } }\n",
                         "interval"),
        "missing command": ("version: 1\nservices:\n  a: { port: 8080 }\n", "command"),
        "unknown dependency": ("version: 1\nservices:\n  a: { command: [x], depends_on: [nope] }\n", "nope"),
        "port clash": ("version: 1\nservices:\n  a: { command: [x], port: 9000, replicas: 2 }\n"
                       "  b: { command: [x], port: 9001 }\n", "9001"),
        "wrong type": ("version: 1\nservices:\n  a: { command: [x], replicas: many }\n", "replicas"),
        "not yaml": ("version: 1\nservices: [unclosed\n", "bad.yaml"),
    }
    for name, (text, needle) in cases.items():
        path = write(tmp_path, text)
        r = run("validate", "-c", str(path))
        assert r.returncode == 1, name
        assert needle in r.stderr, (name, r.stderr)
        assert "Traceback" not in r.stderr and "terminate called" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, (name, r.stderr)


def test_missing_file_and_unknown_environment(tmp_path):
    r = run("validate", "-c", str(tmp_path / "nope.yaml"))
    assert r.returncode == 1 and "nope.yaml" in r.stderr
    path = write(tmp_path, "version: 1\nservices:\n  a: { command: [x] }\nenvironments:\n  dev: {}\n")
    r = run("validate", "-c", str(path), "--env", "prod")
    assert r.returncode == 1 and "prod" in r.stderr and "dev" in r.stderr


def test_bad_flags(tmp_path):
    path = write(tmp_path, "version: 1\nservices:\n  a: { command: [x] }\n")
    for args, needle in ((["run", "-c", str(path), "--listen", "nowhere"], "--listen"),
                         (["run", "-c", str(path), "--log-level", "loud"], "--log-level"),
                         (["run", "-c", str(path), "--frobnicate"], "--frobnicate"),
                         (["explode"], "unknown command")):
        r = run(*args, "--data-dir", str(tmp_path / "d")) if args[0] == "run" and "--frobnicate" not in args else run(*args)
        assert r.returncode != 0, args
        assert needle in r.stderr, (args, r.stderr)


def test_data_dir_in_use_is_refused(tmp_path):
    import time
    from meshd_harness import Meshd, free_ports
    cfg = {"services": {"a": {"command": demo(), "port": free_ports(1)[0]}}}
    with Meshd(tmp_path, cfg) as m:
        r = run("run", "-c", str(m.config_path), "--listen", "127.0.0.1:0", "--data-dir", str(m.data_dir))
        assert r.returncode == 1
        assert "another meshd" in r.stderr
        time.sleep(0.1)
        assert m.proc.poll() is None
