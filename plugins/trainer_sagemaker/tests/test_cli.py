"""The CLI against moto: train --trainer sagemaker, jobs, serve --sagemaker, endpoints, image;
every AWS or config mistake is one line (exit 1), never a traceback."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


from test_training_job import _sent  # noqa: E402 (tests/ is on sys.path, conftest.py)


def _config_file(tmp_path, account, **extra) -> str:
    lines = ["[sagemaker]"] + [f"{k} = {json.dumps(v)}" for k, v in {**account, **extra}.items()]
    lines += ["", "[hyperparameters]", "num_envs = 16", "lr_init = 0.0003"]
    path = tmp_path / "sagemaker.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _one_line_error(result, pattern: str) -> None:
    import re

    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and re.match(r"^Error: " + pattern, lines[0]), result.output
    assert "Traceback" not in result.output


def test_train_with_the_sagemaker_trainer_starts_a_job_from_one_file_and_flags(agentgpt, account, tmp_path, recorded):
    config = _config_file(tmp_path, account, spot=True, checkpoint_path="s3://agentgpt-test/ckpt")
    result = agentgpt("train", "--trainer", "sagemaker", "--config", config, "--env", "gym:CartPole-v1", "--max-steps", "50000",
                      "--hosts", "http://10.0.0.5:8000", "--hosts", "http://10.0.0.6:8000", "--no-wait", "--api-key", "job-key-1")
    assert result.exit_code == 0, result.output
    name = result.stdout.strip().splitlines()[-1]
    [sent] = _sent(recorded(), "CreateTrainingJob")
    assert sent["TrainingJobName"] == name
    assert sent["HyperParameters"] == {"env": "gym:CartPole-v1", "num_envs": "16", "lr_init": "0.0003", "max_steps": "50000",
                                       "hosts": "http://10.0.0.5:8000 http://10.0.0.6:8000", "transport": "http"}
    assert sent["EnableManagedSpotTraining"] is True
    assert list(sent["Environment"]) == ["AGENTGPT_SECRETS_ARN"]  # the key is a secret: never a hyperparameter (test_job_secrets.py)
    assert "job-key-1" not in result.output

    listed = agentgpt("jobs", "list", "--config", config)
    assert listed.exit_code == 0 and listed.output.startswith(f"{name}  Completed")
    logs = agentgpt("jobs", "logs", name, "--follow")
    assert logs.exit_code == 0 and logs.stdout.strip().endswith(f"s3://agentgpt-test/jobs/{name}/output/model.tar.gz")


def test_train_waits_by_default_and_prints_the_policys_s3_uri(agentgpt, account, tmp_path, monkeypatch):
    result = agentgpt("train", "--trainer", "sagemaker", "--config", _config_file(tmp_path, account), "--env", "gym:CartPole-v1",
                      "--listen", "ws://127.0.0.1:8765", "--tunnel", "memory")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("s3://agentgpt-test/jobs/agentgpt-") and result.stdout.strip().endswith("/output/model.tar.gz")


def test_aws_and_config_mistakes_are_one_line(agentgpt, account, tmp_path):
    no_role = _config_file(tmp_path, {**account, "role_arn": "arn:aws:iam::123456789012:role/Missing"})
    _one_line_error(agentgpt("train", "--trainer", "sagemaker", "--config", no_role, "--env", "gym:CartPole-v1"),
                    "the execution role arn:aws:iam::123456789012:role/Missing does not exist")
    bad = _config_file(tmp_path, {**account, "output_path": "my-bucket/out"})
    _one_line_error(agentgpt("train", "--trainer", "sagemaker", "--config", bad, "--env", "gym:CartPole-v1"),
                    r"output_path 'my-bucket/out' is not an S3 URI")
    _one_line_error(agentgpt("train", "--trainer", "sagemaker", "--env", "gym:CartPole-v1"), "the sagemaker trainer needs --config FILE")
    _one_line_error(agentgpt("jobs", "stop", "agentgpt-nothing"), "could not stop training job agentgpt-nothing: ")  # moto: 500, not implemented
    _one_line_error(agentgpt("jobs", "logs", "agentgpt-nothing"), "could not describe training job agentgpt-nothing: ValidationException")


def test_serve_sagemaker_creates_then_reuses_an_endpoint_and_endpoints_delete_removes_it(agentgpt, account, tmp_path, tiny_policy, aws):
    config = _config_file(tmp_path, account)
    created = agentgpt("serve", "--sagemaker", "--config", config, "--endpoint", "cartpole-cli", "--policy", str(tiny_policy))
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "AGENTGPT_ENDPOINT=cartpole-cli"
    reused = agentgpt("serve", "--sagemaker", "--config", config, "--endpoint", "cartpole-cli")
    assert reused.exit_code == 0 and "reusing endpoint cartpole-cli (InService)" in reused.stderr
    assert agentgpt("endpoints", "list", "--config", config).output == "cartpole-cli  InService\n"
    deleted = agentgpt("endpoints", "delete", "cartpole-cli", "--config", config)
    assert deleted.output.splitlines() == ["deleted endpoint cartpole-cli", "deleted endpoint config cartpole-cli", "deleted model cartpole-cli"]
    assert agentgpt("endpoints", "list", "--json").output == "[]\n"
    _one_line_error(agentgpt("endpoints", "delete", "cartpole-cli"), "no endpoint cartpole-cli in us-east-1")
    _one_line_error(agentgpt("serve", "--sagemaker", "--config", config, "--endpoint", "new-one"), "no endpoint 'new-one' to reuse")


class _Throttled(BaseHTTPRequestHandler):
    """What SageMaker answers a caller over its request rate."""

    calls = 0

    def do_POST(self):  # noqa: N802
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-ErrorType", "ThrottlingException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_throttling_is_retried_then_one_line(agentgpt, aws, monkeypatch):
    """moto never throttles: a local server answers every SageMaker call as AWS does when it does."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttled)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
        _Throttled.calls = 0
        _one_line_error(agentgpt("endpoints", "list"), r"could not list endpoints: ThrottlingException: Rate exceeded$")
        assert _Throttled.calls == 3  # standard retry mode backed off and tried again first
    finally:
        server.shutdown()


def _docker_shim(tmp_path, monkeypatch, body: str) -> None:
    directory = tmp_path / "bin"
    directory.mkdir()
    path = directory / "docker"
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")


def test_image_build_refuses_clearly_without_a_docker_engine(agentgpt, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no docker command at all
    _one_line_error(agentgpt("image", "build", "--torch-index-url", "http://127.0.0.1:1/simple"),
                    r"no Docker engine: the `docker` command is not installed")
    _docker_shim(tmp_path, monkeypatch, "import sys\nsys.stderr.write('Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\\n')\nsys.exit(1)\n")
    _one_line_error(agentgpt("image", "push", "agentgpt"), r"no Docker engine reachable \(Cannot connect to the Docker daemon")


def test_the_dockerfile_runs_the_entrypoint_the_container_tests_run(agentgpt):
    from test_container import ENTRYPOINT

    from agentgpt_trainer_sagemaker.image import ENTRYPOINT as IMAGE_ENTRYPOINT

    text = agentgpt("image", "dockerfile").output
    assert f"ENTRYPOINT {json.dumps(IMAGE_ENTRYPOINT)}" in text.replace('", "', '", "')
    assert ENTRYPOINT[1:] == IMAGE_ENTRYPOINT[1:] and "EXPOSE 8080" in text and "torch==2.13.0" in text
    assert "--index-url" not in text
    assert "--index-url http://127.0.0.1:1/simple" in agentgpt("image", "dockerfile", "--torch-index-url", "http://127.0.0.1:1/simple").output
    assert "--index-url" not in agentgpt("image", "dockerfile", "--variant", "cuda", "--torch-index-url", "http://127.0.0.1:1/simple").output


def test_resume_is_refused_for_a_job_which_resumes_by_itself(agentgpt, account, tmp_path):
    result = agentgpt("train", "--trainer", "sagemaker", "--config", _config_file(tmp_path, account), "--env", "gym:CartPole-v1", "--resume")
    assert result.exit_code == 2 and "the sagemaker trainer's jobs resume from their own checkpoints" in result.output


def test_image_build_and_push_with_an_engine(agentgpt, aws, tmp_path, monkeypatch):
    """A ``docker`` that answers like an engine and records its calls; ECR is moto's."""
    log = tmp_path / "docker-calls.jsonl"
    _docker_shim(tmp_path, monkeypatch, f"""
import json, os, sys
stdin = sys.stdin.read() if "--password-stdin" in sys.argv else None
dockerfile = open(os.path.join(sys.argv[-1], "Dockerfile")).read() if sys.argv[1:2] == ["build"] else None
with open({str(log)!r}, "a") as f:
    f.write(json.dumps({{"args": sys.argv[1:], "stdin": stdin, "dockerfile": dockerfile}}) + "\\n")
print("27.0.0" if sys.argv[1:2] == ["info"] else "ok")
""")
    result = agentgpt("image", "build", "--tag", "agentgpt-sm:7", "--torch-index-url", "http://127.0.0.1:1/cpu", "--push", "agentgpt")
    assert result.exit_code == 0, result.output
    uri = aws.client("ecr").describe_repositories(repositoryNames=["agentgpt"])["repositories"][0]["repositoryUri"]
    assert result.stdout.strip() == f"image_uri = {uri}:7"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    build = next(c for c in calls if c["args"][0] == "build")
    assert build["args"][:5] == ["build", "--platform", "linux/amd64", "-t", "agentgpt-sm:7"]
    assert "RUN pip install torch==2.13.0 --index-url http://127.0.0.1:1/cpu" in build["dockerfile"]
    login = next(c for c in calls if c["args"][0] == "login")
    assert login["stdin"] and login["stdin"] not in " ".join(login["args"]) and login["stdin"] not in result.output  # password on stdin only
    assert [c["args"] for c in calls if c["args"][0] in ("tag", "push")] == [["tag", "agentgpt-sm:7", f"{uri}:7"], ["push", f"{uri}:7"]]


def test_serve_sagemaker_with_no_policy_serves_the_newest_completed_jobs(agentgpt, account, tmp_path, aws):
    config = _config_file(tmp_path, account)
    job = agentgpt("train", "--trainer", "sagemaker", "--config", config, "--env", "gym:CartPole-v1", "--no-wait").stdout.strip()
    served = agentgpt("serve", "--sagemaker", "--config", config)
    assert served.exit_code == 0, served.output
    name = served.stdout.strip().removeprefix("AGENTGPT_ENDPOINT=")
    assert name.startswith("agentgpt-")
    model = aws.client("sagemaker").describe_model(ModelName=name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://agentgpt-test/jobs/{job}/output/model.tar.gz"
