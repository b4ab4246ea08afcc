"""The OpenAPI document against the running service: schemathesis finds nothing.

Every check schemathesis has (``--checks all``: no 5xx, statuses, content types, headers
and bodies as documented, bad input refused, good input accepted, auth not ignored), over
every operation: the public ones as an anonymous client, the member ones with a member's
bearer token (and, by the ``ignored_auth`` check, without one). The examples are bounded
and the seed fixed, so the run is short and repeatable.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import pytest

from service.http.openapi import MEMBER_TAG, PUBLIC_TAG
from tests.support.signin import browser, sign_in

MAX_EXAMPLES = 5
# One thread each: with more, Python 3.11.7's ast.parse (which hypothesis calls to describe
# its filters) can fail with "AST constructor recursion depth mismatch".
WORKERS = 1
SEED = 7
RUN_TIMEOUT_S = 300


Run = tuple[int, str]  # exit code, output


async def schemathesis(base_url: str, report_dir: Path, *options: str) -> Run:
    """``schemathesis run`` as a child process, so this loop keeps serving its requests."""
    args = [
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        str(WORKERS),
        "--no-shrink",
        "--request-timeout",
        "10",
        "--report-dir",
        str(report_dir),
        *options,
    ]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=report_dir,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, output.decode(errors="replace")


@pytest.fixture(scope="module")
async def findings(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Both runs at once (the server answers both), so the suite waits for one."""
    async with browser() as http:
        tokens = await sign_in(http, base_url, f"fuzz-{uuid.uuid4().hex[:8]}@example.com")
    bearer = f"Authorization: Bearer {tokens['access_token']}"
    # Each operation once: the public ones answer a member as anyone, and the member ones
    # refuse anonymous clients before reading anything (the ignored_auth check proves it).
    anonymous, member = await asyncio.gather(
        schemathesis(base_url, tmp_path_factory.mktemp("anonymous"), "--include-tag", PUBLIC_TAG),
        schemathesis(
            base_url,
            tmp_path_factory.mktemp("member"),
            "--header",
            bearer,
            "--include-tag",
            MEMBER_TAG,
        ),
    )
    return {"anonymous": anonymous, "member": member}


def test_schemathesis_finds_nothing_as_an_anonymous_client(findings: dict[str, Run]) -> None:
    code, output = findings["anonymous"]
    assert code == 0, output


def test_schemathesis_finds_nothing_with_a_members_token(findings: dict[str, Run]) -> None:
    code, output = findings["member"]
    assert code == 0, output
