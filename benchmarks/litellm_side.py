"""LiteLLM's side of benchmarks/compare.py: its model_list, its Router's pick,
and its proxy answering mock completions.

Importing this module sets ``LITELLM_LOCAL_MODEL_COST_MAP=True`` before LiteLLM
is imported, so LiteLLM reads the cost map it ships instead of downloading one.
LiteLLM itself is imported only inside the functions that need it.
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("LITELLM_TELEMETRY", "False")

import contextlib
import copy
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

MESSAGES = [{"role": "user", "content": "Say hello."}]
MOCK = "Hello from the mock."


def model_list(deployments: int, *, mock: bool = True) -> list[dict[str, Any]]:
    """``deployments / 4`` model groups of 4 deployments each: ``openai/gpt-4o``
    at its own api_base, with an id, rpm and tpm (what a proxy config states)."""
    entries: list[dict[str, Any]] = []
    for group in range(deployments // 4):
        for index in range(4):
            params: dict[str, Any] = {
                "model": "openai/gpt-4o",
                "api_base": f"https://g{group}-d{index}.example.com/v1",
                "api_key": "os.environ/OPENAI_API_KEY",
                "rpm": 1000 + 100 * index,
                "tpm": 1_000_000,
            }
            if mock:
                params["mock_response"] = MOCK
            entries.append(
                {
                    "model_name": f"group-{group}",
                    "litellm_params": params,
                    "model_info": {"id": f"g{group}-d{index}"},
                }
            )
    return entries


def group_names(deployments: int) -> list[str]:
    return [f"group-{group}" for group in range(deployments // 4)]


def litellm_version() -> str:
    from importlib.metadata import version

    return version("litellm")


def load() -> Any:
    """Import LiteLLM (seconds: done before anything is timed)."""
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-used")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def make_router(entries: list[dict[str, Any]], strategy: str) -> Any:
    """LiteLLM's Router over ``entries`` (a deep copy: LiteLLM edits what it is given)."""
    litellm = load()
    return litellm.Router(model_list=copy.deepcopy(entries), routing_strategy=strategy)


async def pick(router: Any, group: str) -> Any:
    """The call timed: LiteLLM choosing a deployment of ``group``."""
    return await router.async_get_available_deployment(
        model=group, messages=MESSAGES, request_kwargs={}
    )


# -- the proxy -------------------------------------------------------------------


def proxy_config(path: Path) -> None:
    """One group ``gpt-4o`` of 4 deployments answering ``mock_response``, no
    database and no master key (LiteLLM then checks no key)."""
    entries = model_list(4)
    for entry in entries:
        entry["model_name"] = "gpt-4o"
    document = {
        "model_list": entries,
        "litellm_settings": {"telemetry": False, "drop_params": True},
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def proxy_problem(python: str) -> str | None:
    """Why the proxy cannot start under ``python`` (no such interpreter, or a
    missing module of the ``litellm[proxy]`` extra), or None."""
    if not Path(python).exists():
        return f"{python} does not exist"
    env = proxy_env(None)
    done = subprocess.run(
        [python, "-c", "import litellm.proxy.proxy_server"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {done.returncode}"


def proxy_env(config: Path | None) -> dict[str, str]:
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "OPENAI_API_KEY": "sk-bench-not-used",
    }
    for name in ("DATABASE_URL", "DIRECT_URL", "LITELLM_MASTER_KEY", "REDIS_HOST", "REDIS_URL"):
        env.pop(name, None)
    env.pop("PYTHONPATH", None)  # the proxy's own environment, not this one's
    if config is not None:
        env["CONFIG_FILE_PATH"] = str(config)
    return env


def _has_option(python: str, option: str) -> bool:
    """Whether the uvicorn under ``python`` takes ``option`` (the proxy's own
    environment pins an older uvicorn than ours)."""
    done = subprocess.run(
        [python, "-m", "uvicorn", "--help"], check=False, capture_output=True, text=True
    )
    return option in done.stdout


def start_proxy(
    config: Path, port: int, workers: int, *, launch: str, python: str, log: Path
) -> subprocess.Popen[bytes]:
    """Start LiteLLM's proxy and wait until it answers a mock completion.

    ``launch="uvicorn"``: ``uvicorn litellm.proxy.proxy_server:app --workers W``
    with the config in ``CONFIG_FILE_PATH`` (LiteLLM's documented way to run the
    app under one's own server). ``launch="cli"``: ``litellm --config ... --num_workers W``.
    """
    bin_dir = Path(python).parent
    if launch == "cli":
        command = [
            str(bin_dir / "litellm"),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            str(workers),
        ]
    else:
        command = [
            python,
            "-m",
            "uvicorn",
            "litellm.proxy.proxy_server:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        if _has_option(python, "--timeout-worker-healthcheck"):
            # uvicorn >= 0.30 health-checks workers: a worker imports all of
            # LiteLLM before it answers, more than 5 s on a busy 2-core machine.
            command += ["--timeout-worker-healthcheck", "120"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            env=proxy_env(config),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=config.parent,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    answered = 0
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"LiteLLM's proxy exited ({server.returncode}); see {log}")
        try:
            response = httpx.post(
                f"{url}/chat/completions",
                json={"model": "gpt-4o", "messages": MESSAGES},
                timeout=10,
            )
            if response.status_code == 200 and MOCK in response.text:
                answered += 1
                if answered >= 4:  # likely both workers up
                    return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_proxy(server)
    raise RuntimeError(f"LiteLLM's proxy did not answer in 240 s; see {log}")


def stop_proxy(server: subprocess.Popen[bytes]) -> None:
    """SIGINT (what both uvicorn's and LiteLLM's supervisors shut down on),
    then SIGTERM, then SIGKILL to the proxy's own process group."""
    if server.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 30), (signal.SIGTERM, 15)):
        try:
            server.send_signal(sig)
            server.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
    with contextlib.suppress(ProcessLookupError):  # workers left behind, in its session only
        os.killpg(server.pid, signal.SIGKILL)


CHAT_WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello %d."}]}', counter)
  return wrk.format("POST", "/chat/completions", nil, body)
end
"""
