"""``attx compute``: fill a profile's store cell by cell (resumable, shared by processes), then write its tables."""
from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any, Callable, Sequence

from ..store import DeadlineReached, NotComputedError, ResultsStore, StoreEntry, compute_policy
from .costs import cpu_hours, entry_cost
from .plan import Cell
from .planner import outlook, plan
from .tables import write_tables


def run(profile: str, only: Sequence[str] | None = None, deadline: float | None = None,
        on_batch: Callable[[StoreEntry, list[str], float], None] | None = None,
        on_cell: Callable[[Cell], None] | None = None, log: Callable[[str], None] = print,
        poll_seconds: float = 5.0, max_steps: int | None = None) -> list[str]:
    """Compute what the planner says, step by step, re-planning after each (a step may decide a claim), until every
    claim is decided and every claim-less chapter is at its count, or ``deadline`` (``time.time()``). A step whose
    images another process holds is skipped; when every step is held, wait. Returns the failures (one line per cell
    whose computation raised); :class:`DeadlineReached` propagates."""
    failed: dict[Cell, str] = {}
    done = 0
    while max_steps is None or done < max_steps:
        steps = [s for s in plan(profile, only) if s.cell not in failed]
        if not steps:
            return list(failed.values())
        progressed = False
        with compute_policy(deadline=deadline, wait=False, on_batch=on_batch) as policy:
            for step in steps:
                busy = policy.busy
                _run_cell(step.cell, failed, on_cell, log, profile)
                if policy.busy == busy:  # computed (or failed): plan again from the new store
                    progressed = True
                    break
        done += 1
        if not progressed:
            if deadline is not None and time.time() >= deadline:
                return list(failed.values())
            time.sleep(poll_seconds)  # every step is held by another process: let it store its images
    return list(failed.values())


def _run_cell(cell: Cell, failed: dict[Cell, str], on_cell: Callable[[Cell], None] | None,
              log: Callable[[str], None], profile: str) -> None:
    if on_cell is not None:
        on_cell(cell)
    try:
        cell.frames(profile)
    except NotComputedError:  # EntryBusy out of a runner that does not note it
        pass
    except DeadlineReached:
        raise
    except Exception as err:  # noqa: BLE001 - one broken method must not stop the fill
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        failed[cell] = f"{cell}: {type(err).__name__}: {first}"
        log(f"attx compute: FAILED {failed[cell]}")


def compute_command(profile: str, hours: float | None = None, threads: int | None = None, device: str | None = None,
                    only: Sequence[str] | None = None, tables_only: bool = False, grace_seconds: float = 120.0) -> int:
    """``attx compute``: fill the store of ``profile`` in priority order with a progress bar (stderr), stop
    cleanly when ``hours`` are up (no new batch after the deadline; a batch still running ``grace_seconds`` later
    is abandoned) or on SIGTERM, say what remains, then regenerate the tables' CSV files. Arguments are assumed
    valid (the CLI checks them). Returns the exit code: 0, 1 when a cell failed, 130 when interrupted."""
    import torch
    from tqdm import tqdm

    def say(text: str) -> None:
        print(f"attx compute: {text}", file=sys.stderr, flush=True)

    if threads:
        torch.set_num_threads(threads)
    if device:
        os.environ["ATTX_DEVICE"] = device
    code = 0
    if not tables_only:
        start = time.time()
        deadline = start + hours * 3600 if hours else None
        removed = ResultsStore(profile).clean_tmp()
        if removed:
            say(f"removed {len(removed)} stale temp file(s) of killed writers")
        n_images, cost, _ = outlook(profile, only)
        say(f"profile {profile}: the open claims are projected to need {n_images} more image computations (~{cost:,.0f} lite0 "
            f"passes, ~{cpu_hours(cost):.1f} CPU-hours), planned step by step" + (f"; stopping after {hours:g} h" if hours else ""))
        bar = tqdm(total=cost, unit="pass", unit_scale=True, file=sys.stderr, disable=n_images == 0, smoothing=0.05, dynamic_ncols=True)

        def on_batch(entry: StoreEntry, batch: list[str], seconds: float) -> None:
            bar.update(len(batch) * entry_cost(entry))
            bar.set_postfix_str(f"{entry.key.get('model', '')} {entry.key.get('method', '')}: {seconds / len(batch):.1f} s/image")

        def stop(signum: int, _frame: Any) -> None:
            raise DeadlineReached("time is up: the running batch was abandoned" if signum == signal.SIGALRM else "terminated")

        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGALRM, signal.SIGTERM)}
        stopped = None
        try:
            signal.signal(signal.SIGTERM, stop)
            if deadline is not None:
                signal.signal(signal.SIGALRM, stop)
                signal.setitimer(signal.ITIMER_REAL, max(deadline - time.time(), 0.0) + grace_seconds)
            failures = run(profile, only, deadline, on_batch=on_batch, on_cell=lambda c: bar.set_description(str(c)), log=bar.write)
            code = 1 if failures else 0
        except DeadlineReached as err:
            stopped = str(err).split(": ", 1)[-1]
        except KeyboardInterrupt:
            stopped, code = "interrupted", 130
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            done_cost, elapsed = bar.n, time.time() - start
            bar.close()
        left, left_cost, per = outlook(profile, only)
        if not plan(profile, only):
            say(f"done: every claim of profile {profile}{' (' + ','.join(only) + ')' if only else ''} is decided and every "
                "chapter without claims is at its count")
        else:
            eta = f", ~{left_cost / (done_cost / elapsed) / 3600:.1f} h at this run's rate" if done_cost > 0 else ""
            say(f"{'stopped (' + stopped + ')' if stopped else 'finished'}; the open claims are projected to need {left} more "
                f"image computations{eta} ({', '.join(f'{c} {n}' for c, n in per.items())}); rerun the same command to resume")
    written = write_tables(profile)
    say(f"{len(written)} table(s) written to {ResultsStore(profile).folder / 'tables'}")
    return code
