"""What the Generate tab shows for a job: its progress bar, its counts and cost, and its log tail."""

from __future__ import annotations

from cft import jobs, workspace
from cft.generate.job import current_job, list_jobs
from pages.render import esc, format_eta, progress_html


def job_view(job_id: str | None = None) -> dict:
    """What the tab shows for a job (the current one when ``job_id`` is empty): re-read from its directory."""
    all_jobs = list_jobs()
    ids = [j["id"] for j in all_jobs]
    info = next((j for j in all_jobs if j["id"] == job_id), None) if job_id else current_job()
    if info is None:
        return {"ids": ids, "job_id": None, "state": None, "bar": progress_html(0, 0), "counts": "No generation job yet.",
                "log": "", "progress": {}}
    p = info["progress"]
    state = info["state"]
    counts = (f"**{info['id']}** — {info.get('shown', state)} · phase: {p.get('phase', '–')} · "
              f"dataset `{info['dataset']}`  \n"
              f"generated **{p.get('generated', 0)}** / {p.get('samples', 0)} · critiqued **{p.get('critiqued', 0)}** · "
              f"failed **{p.get('failed', 0)}** · refused by the teacher **{p.get('failed_samples', 0)}** · "
              f"tokens {p.get('tokens_in', 0)} in / {p.get('tokens_out', 0)} out · "
              f"est. cost ${p.get('cost', 0.0):.4f} · ETA {format_eta(p.get('eta'), p.get('eta_rough', False)) if state in jobs.ACTIVE else '–'}")
    if info.get("error"):
        counts += f"  \n**error:** {esc(info['error'])}"
    if p.get("failed_samples"):
        counts += ("  \nRefused samples are kept with the teacher's reason and skipped; tick *Retry failed samples* "
                   "and Resume to try them again.")
    return {"ids": ids, "job_id": info["id"], "state": state, "bar": progress_html(p.get("done", 0), p.get("total", 0)),
            "counts": counts, "log": jobs.JobDir(workspace.jobs_dir() / info["id"]).log_tail(30), "progress": p}
