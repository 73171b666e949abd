"""run.json validation: every bad key is reported with the file and the key."""

from __future__ import annotations

import json

import pytest

from lizrcl_tools.analysis.runinfo import read_run_info
from lizrcl_tools.errors import ParseError

GOOD = {
    "temperature_K": 600,
    "timestep_fs": 1.0,
    "dump_every": 10,
    "elements": ["Li", "Zr", "Cl"],
    "mobile": "Li",
    "volume_A3": 1500.0,
    "seed": 4,
}


def _write(tmp_path, data):
    (tmp_path / "run.json").write_text(json.dumps(data))
    return tmp_path


def test_good_run_json(tmp_path):
    info = read_run_info(_write(tmp_path, GOOD))
    assert info.temperature_K == 600.0 and info.dump_every == 10
    assert info.frame_interval_ps == pytest.approx(0.01)
    assert info.mobile_types == (1,)
    assert info.volume_A3 == 1500.0 and info.extra == {"seed": 4}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"temperature_K": None}, r"run\.json: missing required key 'temperature_K'"),
        ({"timestep_fs": -1.0}, r"key 'timestep_fs': must be positive"),
        ({"dump_every": 2.5}, r"key 'dump_every': expected an integer"),
        ({"temperature_K": "hot"}, r"key 'temperature_K': expected a number"),
        ({"elements": "LiZrCl"}, r"key 'elements': expected a list"),
        ({"elements": ["Li", "Xx"]}, r"key 'elements': unknown element symbol 'Xx'"),
        ({"mobile": "Na"}, r"key 'mobile': 'Na' is not one of elements"),
        ({"volume_A3": 0}, r"key 'volume_A3': must be positive"),
        ({"cell_A": [[1, 0], [0, 1]]}, r"key 'cell_A': expected a 3x3"),
    ],
)
def test_bad_run_json_names_file_and_key(tmp_path, change, match):
    data = {**GOOD, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ParseError, match=match) as info:
        read_run_info(_write(tmp_path, data))
    assert info.value.path.endswith("run.json")


def test_invalid_json_and_missing_file(tmp_path):
    (tmp_path / "run.json").write_text('{"temperature_K": 600,\n "dump_every": }')
    with pytest.raises(ParseError, match=r"run\.json:2: not valid JSON"):
        read_run_info(tmp_path)
    with pytest.raises(ParseError, match="needs a run.json"):
        read_run_info(tmp_path / "elsewhere")
