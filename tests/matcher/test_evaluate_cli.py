"""``huiqi evaluate`` end to end on small real-language files, and its refusals of bad files."""

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from matcher import RankingConfig, fit_index
from matcher.ranking import ProviderDocument, provider_inputs

PROVIDERS = """id,name,text
chem,中国化学会,锂电池正极材料的合成与表征
chem,中国化学会,电化学储能材料与电解液
crop,中国作物学会,水稻育种与高产栽培技术
crop,中国作物学会,小麦抗病品种选育
weld,中国机械工程学会,激光焊接工艺与焊接机器人
"""
DEMANDS = """id,title,description,gold
d1,锂电池正极材料改性,提高电池循环寿命,chem
d2,水稻高产栽培,选育抗病品种,crop|weld
d3,焊接机器人,激光焊接自动化产线,weld
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_output_has_exactly_the_headline_keys(tmp_path: Path) -> None:
    args = ["evaluate", "--providers", str(write(tmp_path, "P.csv", PROVIDERS))]
    result = CliRunner().invoke(app, [*args, "--demands", str(write(tmp_path, "D.csv", DEMANDS)), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload == {"n": 3, "acc_at_1": 1.0, "hit_at_5": 1.0, "mrr": 1.0}


def test_human_output_has_intervals_and_macro(tmp_path: Path) -> None:
    args = ["evaluate", "--providers", str(write(tmp_path, "P.csv", PROVIDERS))]
    result = CliRunner().invoke(app, [*args, "--demands", str(write(tmp_path, "D.csv", DEMANDS))])
    assert result.exit_code == 0, result.output
    assert "macro_acc_at_1" in result.stdout
    assert "95% CI" in result.stdout


@pytest.mark.parametrize(
    ("providers", "demands", "reason"),
    [
        ("id,name\nchem,中国化学会\n", DEMANDS, "missing column(s) text"),
        ("id,name,text\n", DEMANDS, "no data rows"),
        (PROVIDERS, "id,title,description,gold\nd1,标题,说明,nobody\n", "unknown provider id(s) nobody"),
        (PROVIDERS, "id,title,description,gold\nd1,标题,说明,\n", "line 2: empty gold"),
    ],
)
def test_bad_files_exit_non_zero_with_one_line(
    tmp_path: Path, providers: str, demands: str, reason: str
) -> None:
    p, d = write(tmp_path, "P.csv", providers), write(tmp_path, "D.csv", demands)
    result = CliRunner().invoke(app, ["evaluate", "--providers", str(p), "--demands", str(d)])
    assert result.exit_code == 2
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_file(tmp_path: Path) -> None:
    p = write(tmp_path, "P.csv", PROVIDERS)
    result = CliRunner().invoke(
        app, ["evaluate", "--providers", str(p), "--demands", str(tmp_path / "no.csv")]
    )
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def run_evaluate(providers: Path, demands: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["evaluate", "--providers", str(providers), "--demands", str(demands), "--json"]
    )
    return result.exit_code, result.stdout, result.stderr


def test_excel_files_from_chinese_windows_gb18030_and_bom(tmp_path: Path) -> None:
    p, d = tmp_path / "P.csv", tmp_path / "D.csv"
    p.write_bytes(PROVIDERS.encode("gb18030"))
    d.write_bytes(DEMANDS.encode("utf-8-sig"))
    code, out, err = run_evaluate(p, d)
    assert code == 0, err
    assert json.loads(out)["n"] == 3


def test_tab_separated_headers_in_any_case_and_blank_rows(tmp_path: Path) -> None:
    providers = PROVIDERS.replace(",", "\t").replace("id\tname\ttext", " ID\tName\tTEXT ")
    demands = DEMANDS.replace(",", "\t") + "\n\t\t\t\n"
    code, out, err = run_evaluate(write(tmp_path, "P.tsv", providers), write(tmp_path, "D.tsv", demands))
    assert code == 0, err
    assert json.loads(out) == {"n": 3, "acc_at_1": 1.0, "hit_at_5": 1.0, "mrr": 1.0}


def test_documents_longer_than_the_csv_default_field_limit(tmp_path: Path) -> None:
    long_text = "锂电池正极材料" * 40_000  # 280,000 characters, over the csv module's 131,072
    providers = PROVIDERS + f'chem,中国化学会,"{long_text}"\n'
    code, out, err = run_evaluate(write(tmp_path, "P.csv", providers), write(tmp_path, "D.csv", DEMANDS))
    assert code == 0, err
    assert json.loads(out)["n"] == 3


@pytest.mark.parametrize(
    ("demands", "reason"),
    [
        (DEMANDS + "d1,重复,重复的编号,chem\n", "line 5: duplicate id d1 (first on line 2)"),
        ('id,title,description,gold\nd1,标题,"两行\n说明",chem\n,标题,说明,chem\n', "line 4: empty id"),
    ],
)
def test_demand_ids_must_be_unique_and_present(tmp_path: Path, demands: str, reason: str) -> None:
    code, _, err = run_evaluate(write(tmp_path, "P.csv", PROVIDERS), write(tmp_path, "D.csv", demands))
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'D.csv'}: {reason}"


def test_undecodable_file_names_the_encodings(tmp_path: Path) -> None:
    p = tmp_path / "P.csv"
    p.write_bytes(b"id,name,text\n\x81\x20\xff\xfe,x,y\n")
    code, _, err = run_evaluate(p, write(tmp_path, "D.csv", DEMANDS))
    assert code == 2
    assert "save it as UTF-8 or GB18030" in err


def test_many_providers_are_ranked_as_the_service_ranks_them() -> None:
    # Thousands of experts would need a dense SVM of providers x n-grams: the scale rule drops it.
    limit = 5
    config = RankingConfig(max_classifier_providers=limit)
    few = [ProviderDocument(str(i), f"学会{i}", f"材料{i}号工艺") for i in range(limit)]
    many = [ProviderDocument(str(i), f"专家{i}", f"材料{i}号工艺") for i in range(limit + 1)]
    assert fit_index(provider_inputs(few)[1], config).fused
    assert not fit_index(provider_inputs(many)[1], config).fused
    # documents of one provider count once
    assert fit_index(provider_inputs(few + few)[1], config).config == config


def test_reading_long_documents_leaves_the_process_csv_limit_as_it_was(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    providers = PROVIDERS + f'chem,中国化学会,"{"材料" * 100_000}"\n'
    code, _, err = run_evaluate(write(tmp_path, "P.csv", providers), write(tmp_path, "D.csv", DEMANDS))
    assert code == 0, err
    assert csv.field_size_limit() == before


def test_staff_decisions_are_read_checked_and_ranked_with(tmp_path: Path) -> None:
    p, d = write(tmp_path, "P.csv", PROVIDERS), write(tmp_path, "D.csv", DEMANDS)
    args = ["evaluate", "--providers", str(p), "--demands", str(d), "--json", "--decisions"]
    good = write(
        tmp_path, "decided.csv", "demand_id,provider_id,decision\nd1,chem,accepted\nd2,weld,rejected\n"
    )
    result = CliRunner().invoke(app, [*args, str(good)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 3
    for text, reason in [
        ("demand_id,provider_id,decision\nd9,chem,accepted\n", "line 2: unknown demand id d9"),
        ("demand_id,provider_id,decision\nd1,nobody,accepted\n", "line 2: unknown provider id nobody"),
        ("demand_id,provider_id,decision\nd1,chem,maybe\n", "decision must be one of accepted"),
        ("demand_id,provider_id\nd1,chem\n", "missing column(s) decision"),
    ]:
        result = CliRunner().invoke(app, [*args, str(write(tmp_path, "bad.csv", text))])
        assert result.exit_code == 2
        assert reason in result.stderr
