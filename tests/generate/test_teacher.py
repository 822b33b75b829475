"""The OpenAI-compatible teacher: a real llama.cpp server, and a local server that misbehaves on purpose."""

from __future__ import annotations

import time

import pytest

from cft.generate import GenerateConfig
from cft.generate.counts import Counts
from cft.generate.critique import critique_with_openai, pending_critiques
from cft.data.samples import VERDICTS, Sample
from cft.data.store import Store
from cft.generate.teacher import OpenAITeacher, TeacherError, run_sync, test_connection as probe_connection
from tests.servers import FaultServer, closed_port


@pytest.fixture
def fault_server():
    servers = []

    def make(**kwargs) -> FaultServer:
        server = FaultServer(**kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


QUESTIONS = [
    ("What is 2 + 3?", "2 + 3 = 6. The answer is \\boxed{6}.", "5"),
    ("What is 4 * 5?", "4 * 5 = 20. The answer is \\boxed{20}.", "20"),
    ("What is 10 - 7?", "10 - 7 = 3. The answer is \\boxed{3}.", "3"),
    ("What is 9 / 3?", "9 / 3 = 3. The answer is \\boxed{3}.", "3"),
]


def seed_uncritiqued(store: Store, dataset: str = "gen", n: int = 4) -> list[int]:
    samples = [Sample(question=q, response=r, reference_answer=a, dataset=dataset, key=f"t/{i}#0",
                      status="uncritiqued", source="t") for i, (q, r, a) in enumerate(QUESTIONS[:n])]
    return store.add_samples(dataset, samples)


def config_for(base_url: str, model: str, **kw) -> GenerateConfig:
    base = dict(dataset="gen", teacher="openai", base_url=base_url, model=model, timeout=2.0, max_retries=3,
                retry_backoff=0.01, concurrency=2, teacher_max_tokens=48)
    base.update(kw)
    return GenerateConfig(**base)


def run_critiques(store: Store, config: GenerateConfig, **kw) -> Counts:
    counts = Counts(total=len(QUESTIONS))
    keys = {s.key for s in store.iter_samples(config.dataset)}
    critique_with_openai(config, store, pending_critiques(store, config, keys), counts, **kw)
    return counts


# --------------------------------------------------------------------------------------------- real server


def test_real_server_critiques_every_sample_once_and_resumes(llama_server):
    store = Store()
    ids = seed_uncritiqued(store, n=3)
    config = config_for(llama_server.base_url, llama_server.model, timeout=120.0, concurrency=2,
                        prices={"smollm2": {"input": 1.0, "output": 2.0}})
    counts = run_critiques(store, config)
    assert counts.critiqued == 3 and counts.failed == 0
    assert counts.tokens_in > 0 and counts.tokens_out > 0
    assert counts.cost == pytest.approx((counts.tokens_in * 1.0 + counts.tokens_out * 2.0) / 1e6)
    for sid in ids:
        s = store.get(sid)
        assert s.critique.strip() and s.original_critique == s.critique
        assert s.teacher == "smollm2" and s.status == "pending" and s.revision == 2
        assert s.verdict in VERDICTS
        if s.verdict == "unknown":  # a 135M teacher often forgets the conclusion line: kept, and flagged
            assert "no_conclusion" in s.flags
        assert s.meta["teacher_tokens_out"] > 0
    # Resumable: nothing is left to critique, and a second pass changes nothing.
    assert pending_critiques(store, config, {store.get(i).key for i in ids}) == []
    again = run_critiques(store, config)
    assert again.critiqued == 0 and [store.get(i).revision for i in ids] == [2, 2, 2]


def test_connection_to_real_server(llama_server):
    message = probe_connection(llama_server.base_url, llama_server.model, timeout=120)
    assert message.startswith(f"Connected to {llama_server.base_url}") and "1 model" in message


# --------------------------------------------------------------------------------------------- faults


def complete(base_url: str, **kw):
    async def go():
        teacher = OpenAITeacher(base_url, "fault", **{"timeout": 1.0, "max_retries": 3, "backoff": 0.01, **kw})
        try:
            return await teacher.critique("Q", "R"), teacher.usage
        finally:
            await teacher.aclose()

    return run_sync(go())


@pytest.mark.parametrize("fault", ["sleep", "429", "500", "503", "malformed", "text", "no_choices"])
def test_transient_fault_is_retried_then_succeeds(fault_server, fault):
    server = fault_server(script=[fault], sleep_s=2.5)
    reply, usage = complete(server.base_url)
    assert reply.text.endswith("Conclusion: right [END]")
    assert reply.attempts == 2 and server.actions() == [fault, "ok"]
    assert usage.requests == 1 and usage.tokens_in == 11 and usage.tokens_out == 7


def test_persistent_500_gives_a_clear_error_after_max_retries(fault_server):
    server = fault_server(default="500")
    with pytest.raises(TeacherError) as info:
        complete(server.base_url, max_retries=2)
    assert "HTTP 500" in str(info.value) and "gave up after 3 attempts" in str(info.value)
    assert info.value.retryable and len(server.actions()) == 3  # our retries only: the client's are off


def test_unauthorized_is_not_retried(fault_server):
    server = fault_server(default="401")
    with pytest.raises(TeacherError) as info:
        complete(server.base_url)
    assert "HTTP 401" in str(info.value) and not info.value.retryable and server.actions() == ["401"]


def test_connection_refused_gives_a_clear_error():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    started = time.time()
    with pytest.raises(TeacherError) as info:
        complete(url, max_retries=2)
    assert "connection error" in str(info.value) and url in str(info.value) and info.value.attempts == 3
    assert time.time() - started < 10


def test_backoff_grows_and_has_jitter():
    teacher = OpenAITeacher("http://127.0.0.1:1/v1", "m", backoff=1.0, max_backoff=60)
    delays = [[teacher._delay(a, Exception()) for _ in range(50)] for a in range(4)]
    for attempt, values in enumerate(delays):
        step = 2 ** attempt
        assert all(step * 0.5 <= v <= step for v in values)
        assert len({round(v, 6) for v in values}) > 10  # jitter: not all the same


def test_faults_during_a_run_lose_and_duplicate_nothing(fault_server):
    store = Store()
    ids = seed_uncritiqued(store)
    server = fault_server(script=["429", "sleep", "500", "malformed", "ok", "text", "503"], sleep_s=2.5)
    counts = run_critiques(store, config_for(server.base_url, "fault", timeout=1.0, max_retries=4))
    assert counts.critiqued == 4 and counts.failed == 0
    for sid in ids:
        s = store.get(sid)
        assert s.status == "pending" and s.verdict == "right" and s.revision == 2
        assert [h["field"] for h in store.history(sid)].count("critique") == 1  # saved exactly once
    assert store.counts("gen")["total"] == 4


def test_failed_critiques_stay_uncritiqued_and_a_relaunch_finishes_them(fault_server):
    store = Store()
    ids = seed_uncritiqued(store)
    down = fault_server(default="500")
    config = config_for(down.base_url, "fault", max_retries=1, concurrency=1)
    with pytest.raises(TeacherError, match="stopping after 3 failed samples in a row"):
        run_critiques(store, config)
    assert len(down.actions()) == 3 * 2  # three samples, two attempts each, then it gave up on the endpoint
    assert all(store.get(i).status == "uncritiqued" and store.get(i).revision == 1 for i in ids)
    up = fault_server()
    counts = run_critiques(store, config_for(up.base_url, "fault"))
    assert counts.critiqued == 4 and all(store.get(i).status == "pending" for i in ids)
    assert len(up.actions()) == 4


def test_answer_without_conclusion_is_kept_and_flagged(fault_server):
    store = Store()
    ids = seed_uncritiqued(store, n=1)
    server = fault_server(reply="The student added wrong.")
    run_critiques(store, config_for(server.base_url, "fault"))
    s = store.get(ids[0])
    assert s.critique == "The student added wrong." and s.verdict == "unknown" and "no_conclusion" in s.flags
    assert s.status == "pending"


def test_price_table_prefix_match_save_and_errors(cft_home):
    import json

    from cft.errors import UserError
    from cft.generate.pricing import Usage, load_prices, price_for
    from pages.generate.form import prices_text
    from pages.generate.handlers import save_prices_text

    assert price_for("gpt-4o-2024-08-06") == {"input": 2.5, "output": 10.0}  # longest prefix: gpt-4o
    assert price_for("gpt-4o-mini-2024-07-18") == {"input": 0.15, "output": 0.6}
    assert price_for("smollm2") is None
    assert "Saved" in save_prices_text('{"smollm2": {"input": 0.5, "output": 1}}')
    assert load_prices()["smollm2"] == {"input": 0.5, "output": 1.0} and "gpt-4o" in load_prices()
    assert json.loads(prices_text())["smollm2"]["output"] == 1.0
    usage = Usage(price=price_for("smollm2"))
    usage.add(2_000_000, 1_000_000)
    assert usage.cost == pytest.approx(2.0) and usage.as_dict()["priced"]
    with pytest.raises(UserError, match="line 1"):
        save_prices_text('{"m": ')
    with pytest.raises(UserError, match=r"prices\['m'\]"):
        save_prices_text('{"m": {"input": -1}}')


def run_critiques_again(store: Store, config: GenerateConfig, **kw) -> Counts:
    from cft.generate.critique import count_done

    counts = Counts(total=len(QUESTIONS))
    keys = {s.key for s in store.iter_samples(config.dataset)}
    critique_with_openai(config, store, pending_critiques(store, config, keys, **kw), counts)
    count_done(store, config, keys, counts)
    return counts


def test_a_refused_sample_is_recorded_skipped_and_retried_only_on_request(fault_server):
    store = Store()
    ids = seed_uncritiqued(store)
    secret = "sk-refused-0123456789abcdefghij"
    server = fault_server(script=["echo_400"])  # the first request (one sample) is refused, echoing the key
    config = config_for(server.base_url, "fault", concurrency=1)
    counts = run_critiques(store, config, api_key=secret)
    assert counts.critiqued == 3 and counts.failed_samples == 1 and counts.failed == 0
    refused = [store.get(i) for i in ids if store.get(i).status == "uncritiqued"]
    assert len(refused) == 1 and len(server.actions()) == 4  # one request each: a 400 is not retried
    reason = refused[0].meta["teacher_error"]["reason"]
    assert "HTTP 400" in reason and "[REDACTED]" in reason and secret not in reason
    again = run_critiques_again(store, config)  # a relaunch: the refused sample is skipped, and counted
    assert len(server.actions()) == 4 and again.failed_samples == 1
    retried = run_critiques_again(store, config, retry_failed=True)
    assert len(server.actions()) == 5 and retried.failed_samples == 0 and retried.critiqued == 4
    s = store.get(refused[0].id)
    assert s.status == "pending" and "teacher_error" not in s.meta


def test_when_every_request_is_refused_the_settings_are_blamed(fault_server):
    store = Store()
    seed_uncritiqued(store)
    server = fault_server(default="echo_400")
    with pytest.raises(TeacherError, match="the first 3 requests were all refused"):
        run_critiques(store, config_for(server.base_url, "fault", concurrency=1))
    assert len(server.actions()) == 3
