"""``agentgpt jobs``, ``agentgpt endpoints`` and ``agentgpt image``: SageMaker from the command line.

Every AWS or config mistake is one line (``Error: ...``, exit 1), never a traceback.
``--config FILE`` gives the region (and, for ``image push``, nothing else is needed);
``--region`` overrides it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import click

from .backend import one_line_errors

_config_option = click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                              help="SageMaker settings file (its region is used).")
_region_option = click.option("--region", default=None, help="AWS region (default: the config's, else the session's).")


def _aws(config: Path | None, region: str | None):
    from .aws import Aws
    from .config import read_file

    def make():
        chosen = region
        if chosen is None and config is not None:
            data = read_file(config)
            chosen = data.get("sagemaker", data).get("region") or None
        return Aws(chosen)

    return one_line_errors(make)


@click.group()
def jobs() -> None:
    """SageMaker training jobs: list, follow the logs of, stop."""


def _echo_listing(found: list[dict], as_json: bool, none: str, record: Callable[[dict], dict], line: Callable[[dict], str]) -> None:
    """A list command's output: a JSON list of ``record``s, or one ``line`` each (``none`` when empty)."""
    if as_json:
        click.echo(json.dumps([record(item) for item in found]))
        return
    if not found:
        click.echo(none)
    for item in found:
        click.echo(line(item))


@jobs.command("list")
@_config_option
@_region_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def jobs_list(config: Path | None, region: str | None, limit: int, as_json: bool) -> None:
    """The newest training jobs of the region."""
    from .training import list_jobs

    aws = _aws(config, region)
    _echo_listing(one_line_errors(lambda: list_jobs(aws, limit=limit)), as_json, f"no training jobs in {aws.region}",
                  lambda j: {"name": j["TrainingJobName"], "status": j["TrainingJobStatus"], "created": j["CreationTime"].isoformat()},
                  lambda j: f"{j['TrainingJobName']}  {j['TrainingJobStatus']:<10}  {j['CreationTime']:%Y-%m-%d %H:%M}")


@jobs.command("logs")
@click.argument("name")
@_config_option
@_region_option
@click.option("--follow/--no-follow", default=False, help="Keep following until the job ends.")
def jobs_logs(name: str, config: Path | None, region: str | None, follow: bool) -> None:
    """The job's status and its container's log lines (CloudWatch); the policy's S3 URI once complete."""
    from .training import describe_job, job_log_lines, wait_for_job

    aws = _aws(config, region)
    if follow:
        click.echo(one_line_errors(lambda: wait_for_job(aws, name, echo=click.echo)))
        return
    job = one_line_errors(lambda: describe_job(aws, name))
    click.echo(f"{name}: {job['TrainingJobStatus']} ({job.get('SecondaryStatus')})", err=True)
    for line in one_line_errors(lambda: list(job_log_lines(aws, name))):
        click.echo(line)
    if job.get("FailureReason"):
        click.echo(f"failure reason: {' '.join(job['FailureReason'].split())}", err=True)


@jobs.command("stop")
@click.argument("name")
@_config_option
@_region_option
def jobs_stop(name: str, config: Path | None, region: str | None) -> None:
    """Stop a running job (SageMaker sends the container SIGTERM; a spot job keeps its checkpoint)."""
    from .training import stop_job

    aws = _aws(config, region)
    one_line_errors(lambda: stop_job(aws, name, echo=lambda line: click.echo(line, err=True)))
    click.echo(f"stopping {name}")


@click.group()
def endpoints() -> None:
    """SageMaker real-time endpoints: list, delete (make one with `agentgpt serve --sagemaker`)."""


@endpoints.command("list")
@_config_option
@_region_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def endpoints_list(config: Path | None, region: str | None, as_json: bool) -> None:
    """The region's endpoints and their status."""
    from .endpoints import list_endpoints

    aws = _aws(config, region)
    _echo_listing(one_line_errors(lambda: list_endpoints(aws)), as_json, f"no endpoints in {aws.region}",
                  lambda e: {"name": e["EndpointName"], "status": e["EndpointStatus"]},
                  lambda e: f"{e['EndpointName']}  {e['EndpointStatus']}")


@endpoints.command("delete")
@click.argument("name")
@_config_option
@_region_option
def endpoints_delete(name: str, config: Path | None, region: str | None) -> None:
    """Delete the endpoint (billing stops), with the endpoint config and model agentgpt made for it."""
    from .endpoints import delete_endpoint

    aws = _aws(config, region)
    for what in one_line_errors(lambda: delete_endpoint(aws, name)):
        click.echo(f"deleted {what}")


@click.group()
def image() -> None:
    """The training-and-serving image: print its Dockerfile, build it, push it to ECR."""


_variant_option = click.option("--variant", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
                               help="cpu: ml.m*/ml.c* instances; cuda: ml.g*/ml.p* instances.")
_index_option = click.option("--torch-index-url", envvar="AGENTGPT_TORCH_INDEX_URL", default=None, metavar="URL",
                             help="Where pip gets the CPU build of torch (PyTorch's CPU wheel index) [env: AGENTGPT_TORCH_INDEX_URL].")


@image.command("dockerfile")
@_variant_option
@_index_option
def image_dockerfile(variant: str, torch_index_url: str | None) -> None:
    """Print the Dockerfile (needs no Docker engine)."""
    from .image import dockerfile

    click.echo(dockerfile(variant=variant, torch_index_url=torch_index_url), nl=False)


@image.command("build")
@click.option("--tag", default="agentgpt-sagemaker:latest", show_default=True, help="Local image tag.")
@_variant_option
@_index_option
@click.option("--push", "repository", default=None, metavar="REPOSITORY", help="Then push it to this ECR repository.")
@_region_option
def image_build(tag: str, variant: str, torch_index_url: str | None, repository: str | None, region: str | None) -> None:
    """Build the image (a Docker engine is needed); with --push REPOSITORY, push it to ECR too."""
    from .image import ImageError, build, push

    try:
        if variant == "cpu" and not torch_index_url:
            click.echo("no --torch-index-url: torch comes from pip's default index, whose Linux wheel bundles CUDA "
                       "(runs on CPU, image a few GB larger)", err=True)
        build(tag, variant=variant, torch_index_url=torch_index_url)
        click.echo(f"built {tag}", err=True)
        if repository:
            click.echo(f"image_uri = {push(_aws(None, region), tag, repository)}")
    except ImageError as exc:
        raise click.ClickException(str(exc)) from None


@image.command("push")
@click.argument("repository")
@click.option("--tag", default="agentgpt-sagemaker:latest", show_default=True, help="Local image tag to push.")
@_region_option
def image_push(repository: str, tag: str, region: str | None) -> None:
    """Push a built image to the ECR repository (created if missing); prints the image_uri for the config."""
    from .image import ImageError, check_docker_engine, push

    try:
        check_docker_engine()  # before any AWS call
        click.echo(f"image_uri = {one_line_errors(lambda: push(_aws(None, region), tag, repository))}")
    except ImageError as exc:
        raise click.ClickException(str(exc)) from None


COMMANDS = [jobs, endpoints, image]
