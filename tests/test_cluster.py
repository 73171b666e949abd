"""Parsl fan-out: the cluster file, the rendered Slurm job, parallel MD equal to serial MD,
and a driver killed mid-run: no finished task runs again, results equal, no workers left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

import pytest
from ase.build import bulk
from ase.io import write

from lizrcl_tools.cluster.config import load_cluster_config, local_cluster
from lizrcl_tools.cluster.session import (
    ENGINE_DIR, engine_processes, readable_checkpoints, session_processes,
)
from lizrcl_tools.cluster.tasks import execution_log
from lizrcl_tools.errors import LizrclWarning, PresetError
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.workflow import run_conductivity
from lizrcl_tools.potential.classical import classical_potential

REPO = Path(__file__).resolve().parents[1]

# Hot, defective LiCl (one Schottky pair removed, 62 atoms): 1.5 ps of NVT gives a fit window.
PROTOCOL_KW = dict(name="test", temperatures_K=(2000.0, 2300.0, 2600.0), n_atoms=None, npt_ps=0.1,
                   nvt_ps=1.5, dump_every=5, chunk_steps=250, barostat="iso", seed=4242)
PROTOCOL = MDProtocol(**PROTOCOL_KW)


def defective_licl():
    atoms = bulk("LiCl", "rocksalt", a=5.07, cubic=True).repeat(2)
    del atoms[[0, 1]]
    return atoms


def d_by_temperature(result) -> dict[float, float]:
    return {r.T_K: r.D_cm2_s for r in result.temperatures}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The uninterrupted serial run of all three temperatures (the reference)."""
    out = tmp_path_factory.mktemp("serial")
    result, dirs = run_conductivity(classical_potential(), PROTOCOL, out, structure=defective_licl(),
                                    progress=False)
    return d_by_temperature(result), {d.name: d for d in dirs}


# --------------------------------------------------------------------------------------------
# The cluster file


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_cluster_file_merges_default_under_stages_and_names_bad_keys(tmp_path):
    path = write_yaml(tmp_path / "cluster.yaml", """\
        default:
          provider: slurm
          partition: compute
          account: proj042
          walltime: "04:00:00"
          retries: 1
        md:
          cores: 32
          max_blocks: 4
        train:
          partition: gpu
          cores: 8
          cores_per_task: 8
        label:
          provider: local
          cores: 4
        vasp_command: srun vasp_std
        """)
    cfg = load_cluster_config(path)
    md, train, label, ssw = (cfg.for_stage(s) for s in ("md", "train", "label", "ssw"))
    assert (md.provider, md.partition, md.account, md.cores, md.max_blocks, md.retries) == \
        ("slurm", "compute", "proj042", 32, 4, 1)
    assert md.workers_per_block == 32 and train.workers_per_block == 1
    assert (train.partition, train.walltime) == ("gpu", "04:00:00")
    assert (label.provider, label.workers_per_block) == ("local", 4)
    assert ssw == cfg.default and cfg.vasp_command == "srun vasp_std"
    assert local_cluster(3).for_stage("md").workers_per_block == 3

    bad = {
        "md:\n  cores: 0\n": "'md.cores'.*integer ≥ 1",
        "md:\n  provider: lsf\n": "'md.provider'.*not a provider",
        "md:\n  walltime: 4:00:00\n": "'md.walltime'.*unquoted time.*14400",
        "md:\n  partion: x\n": "'md.partion'.*unknown key",
        "gpu:\n  cores: 2\n": "'gpu'.*unknown key",
        "md:\n  cores: 2\n  cores_per_task: 4\n": "'md.cores_per_task'.*exceeds cores = 2",
        "vasp_command: ''\n": "'vasp_command'",
    }
    for text, message in bad.items():
        path.write_text(text)
        with pytest.raises(PresetError, match=f"{path}: key {message}"):
            load_cluster_config(path)


def test_slurm_job_script_carries_the_block_and_the_worker_environment(tmp_path, monkeypatch):
    from lizrcl_tools.cluster.parsl_config import SESSION_ENV, make_provider

    cfg = load_cluster_config(write_yaml(tmp_path / "c.yaml", """\
        md:
          provider: slurm
          partition: compute
          account: proj042
          cores: 16
          cores_per_task: 2
          walltime: "1-02:00:00"
          max_blocks: 3
          worker_init: source /opt/venv/bin/activate
          scheduler_options: "#SBATCH --qos=short"
        """))
    provider = make_provider(cfg.for_stage("md"), "tag123")
    provider.script_dir = str(tmp_path)
    submitted = []
    monkeypatch.setattr(provider, "execute_wait",
                        lambda cmd, *a, **k: (submitted.append(cmd), (0, "Submitted batch job 4242", ""))[1])
    assert provider.submit("process_worker_pool.py --cores 2", tasks_per_node=1) == "4242"
    script = Path(submitted[0].split()[-1]).read_text()
    lines = script.splitlines()
    for directive in ("#SBATCH --partition=compute", "#SBATCH --account=proj042", "#SBATCH --qos=short",
                      "#SBATCH --time=1560", "#SBATCH --nodes=1", "#SBATCH --cpus-per-task=16"):
        assert directive in lines, directive
    assert provider.max_blocks == 3
    # the venv's bin/ and this checkout come before the user's init, which comes before the pool
    path_line = lines.index(f"export PATH={Path(sys.executable).parent}:$PATH")
    assert lines.index(f"export {SESSION_ENV}=tag123") > path_line
    assert path_line < lines.index("source /opt/venv/bin/activate") < script.count("\n")
    assert script.index("source /opt/venv/bin/activate") < script.index("process_worker_pool.py")
    # each worker gets the task's cores as its thread count (2 workers × all cores would oversubscribe);
    # the user's init comes later, so a thread count set there wins
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        assert path_line < lines.index(f"export {name}=2") < lines.index("source /opt/venv/bin/activate")


def _slurm_partition() -> str | None:
    """The default partition of a Slurm that answers here (`.ci/slurm_local.sh start`), or None."""
    import shutil

    if shutil.which("sinfo") is None:
        return None
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return None
    for line in out.stdout.splitlines():
        name, state = line.split()
        if name.endswith("*") and state in ("idle", "mixed", "allocated"):
            return name[:-1]
    return None


def _squeue_jobs() -> set[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, timeout=10)
    return set(out.stdout.split())


def test_sweep_through_a_real_slurm_equals_serial(tmp_path, serial):
    """Two temperatures through Parsl's SlurmProvider on the one-node Slurm that `.ci/run`
    starts: the tasks ran inside a batch job, D equals the serial run's, the job is gone after."""
    partition = _slurm_partition()
    if partition is None:
        pytest.skip("no Slurm answers here (`sinfo` missing or no idle node); "
                    "`.ci/slurm_local.sh start` (root, Debian) starts a one-node one")
    d_serial, serial_dirs = serial
    before = _squeue_jobs()
    cfg = load_cluster_config(write_yaml(tmp_path / "slurm.yaml", f"""\
        md:
          provider: slurm
          partition: {partition}
          cores: 2
          walltime: "00:10:00"
        """))
    temps = (2000.0, 2600.0)
    out = tmp_path / "cond"
    result, dirs = run_conductivity(classical_potential(), PROTOCOL, out, structure=defective_licl(),
                                    temperatures_K=temps, progress=False, cluster=cfg)
    got = d_by_temperature(result)
    for t in temps:
        assert got[t] == d_serial[t]
    for d in dirs:
        assert (d / "nvt.lammpstrj").read_bytes() == (serial_dirs[d.name] / "nvt.lammpstrj").read_bytes()
    records = [e for d in dirs for e in execution_log(out, f"md-{d.name}")]
    jobs = {e["batch_job"] for e in records}
    assert len(records) == 4 and None not in jobs, records  # ran inside Slurm batch job(s)
    assert jobs.isdisjoint(before)
    submitted = [p for p in (out / ENGINE_DIR / "parsl").rglob("submit_scripts/parsl.md.block-*")
                 if p.suffix not in (".stdout", ".stderr")]
    assert submitted and f"#SBATCH --partition={partition}" in submitted[0].read_text()
    deadline = time.monotonic() + 30  # the executor cancels its blocks when it shuts down
    while jobs & _squeue_jobs() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not jobs & _squeue_jobs()


def test_damaged_checkpoint_is_skipped_with_a_warning(tmp_path):
    good, bad = tmp_path / "000" / "checkpoint", tmp_path / "001" / "checkpoint"
    good.mkdir(parents=True)
    bad.mkdir(parents=True)
    import pickle

    (good / "tasks.pkl").write_bytes(pickle.dumps({"hash": "h", "exception": None, "result": 1}))
    (bad / "tasks.pkl").write_bytes(pickle.dumps({"hash": "h2", "result": 2})[:-7])  # cut by a kill
    with pytest.warns(LizrclWarning, match="damaged Parsl checkpoint"):
        assert readable_checkpoints(tmp_path) == [str(good)]


# --------------------------------------------------------------------------------------------
# Parallel MD


def test_parallel_sweep_equals_serial_and_skips_finished_folders(tmp_path, serial):
    d_serial, serial_dirs = serial
    temps = (2000.0, 2600.0)
    result, dirs = run_conductivity(classical_potential(), PROTOCOL, tmp_path, structure=defective_licl(),
                                    temperatures_K=temps, progress=False, cluster=local_cluster(2))
    got = d_by_temperature(result)
    for t in temps:
        assert got[t] == d_serial[t]  # same seed, same inputs: the same trajectory, bit for bit
    for d in dirs:
        assert (d / "nvt.lammpstrj").read_bytes() == (serial_dirs[d.name] / "nvt.lammpstrj").read_bytes()
        events = [e["event"] for e in execution_log(tmp_path, f"md-{d.name}")]
        assert events == ["start", "end"]
    # one worker process per task at a time, two workers: the tasks ran in two processes
    pids = {e["pid"] for d in dirs for e in execution_log(tmp_path, f"md-{d.name}")}
    assert len(pids) == 2
    assert not list((tmp_path / ENGINE_DIR / "sessions").glob("*.json"))
    # rerun: finished folders are recognised by the driver, no task is sent
    again, _ = run_conductivity(classical_potential(), PROTOCOL, tmp_path, structure=defective_licl(),
                                temperatures_K=temps, progress=False, cluster=local_cluster(2))
    assert d_by_temperature(again) == got
    assert all(len(execution_log(tmp_path, f"md-{d.name}")) == 2 for d in dirs)


DRIVER = """
import sys
from lizrcl_tools.cluster.config import local_cluster
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.workflow import run_conductivity
from lizrcl_tools.potential.classical import classical_potential
run_conductivity(classical_potential(), MDProtocol(**{kw!r}), sys.argv[1], structure=sys.argv[2],
                 progress=False, cluster=local_cluster(2))
"""


def _finished(out: Path) -> set[str]:
    done = set()
    for run_json in (out / "runs").glob("T*/run.json"):
        try:
            if json.loads(run_json.read_text()).get("status") == "complete":
                done.add(run_json.parent.name)
        except ValueError:  # being replaced right now
            pass
    return done


def test_killed_driver_resumes_without_rerunning_finished_tasks(tmp_path, serial):
    d_serial, _ = serial
    structure = tmp_path / "cell.extxyz"
    write(structure, defective_licl())
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(kw=PROTOCOL_KW))
    out = tmp_path / "cond"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(driver), str(out), str(structure)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    try:
        while not _finished(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the driver ended before the test could kill it"
        assert _finished(out), "no task finished within 180 s"
        sessions = list((out / ENGINE_DIR / "sessions").glob("*.json"))
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    finished_at_kill = _finished(out)
    assert len(sessions) == 1
    killed_tag = json.loads(sessions[0].read_text())["session"]
    unfinished_at_kill = {"T2000", "T2300", "T2600"} - finished_at_kill
    assert unfinished_at_kill, "every task finished before the kill; nothing was interrupted"

    result, dirs = run_conductivity(classical_potential(), PROTOCOL, out, structure=str(structure),
                                    progress=False, cluster=local_cluster(2))
    starts = {d.name: sum(e["event"] == "start" for e in execution_log(out, f"md-{d.name}")) for d in dirs}
    for name in finished_at_kill:
        assert starts[name] == 1, (name, starts)
    # an interrupted task ran again unless its orphaned worker finished it before the rerun
    # ended that worker: either way it started at least once and its folder is complete now
    assert all(starts[name] >= 1 for name in unfinished_at_kill)
    assert _finished(out) == {"T2000", "T2300", "T2600"}
    print(f"finished at kill: {sorted(finished_at_kill)}; starts after rerun: {starts}")
    got = d_by_temperature(result)
    for t, d in d_serial.items():
        # a resumed run restarts from its binary restart file: equal to the dump's precision
        assert got[t] == pytest.approx(d, rel=1e-6, abs=0), t
    assert session_processes(killed_tag) == []
    assert not list((out / ENGINE_DIR / "sessions").glob("*.json"))
    # this test's pools only: other sessions on a shared machine (other users' runs) are not ours
    leftovers = [p for p in _pool_processes() if str(out) in _cmdline(p) or _has_engine_env(p, killed_tag)]
    assert leftovers == []
    # The interchange retitles itself (its /proc cmdline and environ no longer say what it is);
    # it is found by the log it keeps open in the engine folder.
    assert _engine_processes_gone(out / ENGINE_DIR)


def test_interrupted_driver_stops_its_executor(tmp_path):
    """Ctrl-C (SIGINT) or a cancelled batch job (SIGTERM) mid-run: the driver shuts the
    executor down itself; no worker outlives it, its session record is gone."""
    structure = tmp_path / "cell.extxyz"
    write(structure, defective_licl())
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(kw=PROTOCOL_KW))
    out = tmp_path / "cond"
    proc = subprocess.Popen([sys.executable, str(driver), str(out), str(structure)],
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    sessions: list[Path] = []
    try:
        while not sessions or not list((out / ENGINE_DIR / "executions").glob("*.jsonl")):
            assert proc.poll() is None and time.monotonic() < deadline, "no task started"
            sessions = list((out / ENGINE_DIR / "sessions").glob("*.json"))
            time.sleep(0.1)
        tag = json.loads(sessions[0].read_text())["session"]
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert session_processes(tag) == []
    assert _engine_processes_gone(out / ENGINE_DIR)
    assert not sessions[0].exists()


def test_workers_and_cluster_options(tmp_path):
    from lizrcl_tools.cli import build_parser
    from lizrcl_tools.commands._common import cluster_of

    parser = build_parser()
    assert cluster_of(parser.parse_args(["conductivity"])) is None
    assert cluster_of(parser.parse_args(["conductivity", "--workers", "2"])).for_stage("md").workers_per_block == 2
    path = write_yaml(tmp_path / "c.yaml", "md:\n  cores: 3\n")
    assert cluster_of(parser.parse_args(["conductivity", "--cluster", str(path)])).for_stage("md").cores == 3
    with pytest.raises(PresetError, match="workers"):
        cluster_of(parser.parse_args(["conductivity", "--workers", "0"]))
    with pytest.raises(SystemExit):
        parser.parse_args(["conductivity", "--workers", "2", "--cluster", str(path)])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _engine_processes_gone(engine_dir: Path, wait_s: float = 10.0) -> bool:
    """True once no process holds a file in ``engine_dir`` (the interchange may take a moment
    to exit after its executor's shutdown)."""
    deadline = time.monotonic() + wait_s
    while engine_processes(engine_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _has_engine_env(pid: int, tag: str) -> bool:
    """True if ``pid`` carries engine session ``tag`` in its environment."""
    try:
        return f"LIZRCL_ENGINE_SESSION={tag}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _pool_processes() -> list[int]:
    """Parsl worker pools and interchanges of this user still running."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
            and any(s in _cmdline(int(p.name))
                    for s in ("process_worker_pool", "interchange.py", "HTEX interchange"))]


def test_labelling_in_chunks_equals_serial_labelling(tmp_path):
    """Two chunks on two workers, each loading the shipped MACE model, give the serial labels;
    a rerun sends no chunk again."""
    from lizrcl_tools import keys
    from lizrcl_tools.dataset.labelling import label_frames, read_labelled_frames
    from lizrcl_tools.dataset.parallel import label_frames_parallel
    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.learn.frames import rattles
    from lizrcl_tools.structures import build

    model = REPO / "lizrcl_tools" / "data" / "lizrcl_mace_small.model"
    frames = rattles([build("li2zrcl6-p3m1"), build("licl")], 2, 0.05, seed=9)
    serial = tmp_path / "serial.extxyz"
    label_frames(frames, get_reference(f"mace:{model}"), serial, progress=False)
    out = label_frames_parallel(frames, f"mace:{model}", tmp_path / "chunked.extxyz", local_cluster(2))
    a, b = read_labelled_frames(serial), read_labelled_frames(out)
    assert [x.get_chemical_formula() for x in a] == [x.get_chemical_formula() for x in b]
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.positions, y.positions, atol=0)
        assert y.info[keys.REF_ENERGY] == pytest.approx(x.info[keys.REF_ENERGY], rel=1e-12)
        np.testing.assert_allclose(y.arrays[keys.REF_FORCES], x.arrays[keys.REF_FORCES], atol=1e-10)
    # the joined file indexes the whole input, as the serial file: serial labelling resumes from it
    assert [x.info["label_index"] for x in b] == [x.info["label_index"] for x in a] == [0, 1, 2, 3]
    resumed = label_frames(frames, get_reference(f"mace:{model}"), out, progress=False)
    assert (resumed.n_reused, resumed.n_computed) == (4, 0)
    chunk_dir = tmp_path / "chunked.extxyz.chunks"
    assert [len(execution_log(chunk_dir, f"label-000{k}")) for k in (0, 1)] == [2, 2]
    label_frames_parallel(frames, f"mace:{model}", tmp_path / "chunked.extxyz", local_cluster(2), force=True)
    assert [len(execution_log(chunk_dir, f"label-000{k}")) for k in (0, 1)] == [2, 2]
