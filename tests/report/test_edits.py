"""Human work is never lost, and the same inputs give the same bytes."""

import json
from pathlib import Path

import pytest

from tests.report.conftest import record
from toolkit.cli import main
from toolkit.errors import BadInput
from toolkit.report import gather, load_annotations, write_report
from toolkit.report.writer import CHECKSUMS
from toolkit.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "annotations.example.yaml"


def _write(path, notes, out, **options):
    with Store.open(path, read_only=True) as store:
        data = gather(store, incident_auto=True, annotations=notes)
    return write_report(data, out, **options)


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_a_rerun_keeps_the_annotations_and_adds_new_ones(recorded, tmp_path):
    """Text written in the annotations file survives every rerun; a later addition appears
    beside it."""
    path = recorded("schema-blind-dedup")
    notes = tmp_path / "notes.yaml"
    notes.write_text("summary: Editors saw stale navigation.\nlessons: Test two schemas.\n")
    first = _write(path, notes, tmp_path / "out")
    notes.write_text(notes.read_text() + "response: Redeployed the navigation schema.\n"
                     "timeline:\n  - {time: '2024-05-01T10:15:00Z', text: Support ticket}\n")
    second = _write(path, notes, tmp_path / "out")
    assert first.directory == second.directory
    text = second.markdown.read_text()
    for words in ("Editors saw stale navigation.", "Test two schemas.",
                  "Redeployed the navigation schema.",
                  "| 2024-05-01 10:15:00 UTC | people | Support ticket |"):
        assert words in text, words


def test_an_edited_report_is_not_overwritten_without_force(recorded, tmp_path):
    """Someone edited report.md: the rerun refuses and names the file; --force overwrites."""
    path = recorded("schema-blind-dedup")
    written = _write(path, None, tmp_path)
    edited = written.markdown.read_text() + "\nA paragraph a person added by hand.\n"
    written.markdown.write_text(edited)
    with pytest.raises(BadInput, match=r"report\.md was edited since it was generated"):
        _write(path, None, tmp_path)
    assert written.markdown.read_text() == edited
    _write(path, None, tmp_path, force=True)
    assert "by hand" not in written.markdown.read_text()


def test_same_inputs_give_the_same_bytes(recorded, tmp_path):
    """Two runs from one store and one annotations file write identical files (figures and
    checksums included); so does a second recording of the scenario with the same seed
    (seeded trace ids: the evidence table carries them)."""
    path = recorded("env-blind-dedup")
    a = _write(path, EXAMPLE, tmp_path / "a")
    b = _write(path, EXAMPLE, tmp_path / "b")
    c = _write(record(tmp_path / "again", "may7"), EXAMPLE, tmp_path / "c")
    assert "Trace ids" in a.markdown.read_text() and CHECKSUMS in _files(a.directory)
    assert _files(a.directory) == _files(b.directory) == _files(c.directory)


def test_the_readme_example_annotations_load_and_render(recorded, tmp_path, capsys):
    """docs/annotations.example.yaml sets every human field; `toolkit report` renders it."""
    notes = load_annotations(EXAMPLE)
    assert notes.severity and notes.authors and notes.incident_lead and notes.action_items
    assert sorted(notes.texts) == ["detection", "impact", "lessons", "response", "root_cause",
                                   "summary", "trigger"]
    code = main(["report", "--db", str(recorded("lost-follow-up")), "--incident", "auto",
                 "--annotations", str(EXAMPLE), "--out", str(tmp_path), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    text = Path(out["markdown"]).read_text()
    for item in notes.action_items:
        assert f"| {item.action} | {item.type} | {item.priority} | {item.owner} | " \
               f"{item.ticket} |" in text
    assert f"| {notes.status} | {notes.severity} |" in text


@pytest.mark.parametrize(("content", "message"), [
    ("summary: [unclosed", "notes.yaml: not valid yaml"),
    ("sumary: typo", "notes.yaml: unknown field 'sumary'"),
    ("timeline:\n  - {text: no time}", "notes.yaml: timeline entry 1 needs 'time' and 'text'"),
    ("timeline:\n  - {time: soon, text: x}", "notes.yaml: timeline entry 1: bad time 'soon'"),
    ("action_items:\n  - {action: x, type: blame}", "notes.yaml: action item 1: type 'blame'"),
    ("- a list", "notes.yaml: expected a mapping"),
])
def test_bad_annotations_name_the_file_and_the_entry(tmp_path, content, message):
    """Each mistake gets one line naming the file and what is wrong."""
    notes = tmp_path / "notes.yaml"
    notes.write_text(content)
    with pytest.raises(BadInput) as caught:
        load_annotations(notes)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_template_dir_overrides_one_template(recorded, tmp_path, capsys):
    """A user's report.md.j2 replaces the default; its values are escaped all the same;
    report.html still comes from the default template. A broken template exits 2."""
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "report.md.j2").write_text(
        "# {{ report.title }}\n{% for s in report.sections %}* {{ s.title }}\n{% endfor %}")
    args = ["report", "--db", str(recorded("lost-follow-up")), "--incident", "auto",
            "--out", str(tmp_path / "out"), "--template-dir", str(mine), "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    text = Path(out["markdown"]).read_text()
    title = "# Post-mortem (draft): wrongful job discards in 2 environments, 2024-05-01\n"
    assert text.startswith(title)
    assert "* Root cause\n" in text and "* Appendix: evidence\n" in text
    assert "<!DOCTYPE html>" in Path(out["html"]).read_text()
    (mine / "report.md.j2").write_text("{% for %}")
    assert main([*args, "--force"]) == 2
    assert "report.md.j2:1:" in capsys.readouterr().err


def test_report_for_an_explicit_window_from_the_command_line(recorded, tmp_path, capsys):
    """`toolkit report --since --until --out` (README) writes the window's report; bad
    bounds exit 2 with one line."""
    path = str(recorded("schema-blind-dedup"))
    assert main(["report", "--db", path, "--since", "2024-04-30T08:00", "--until",
                 "2024-05-02T00:00", "--out", str(tmp_path)]) == 0
    assert "report written to" in capsys.readouterr().out
    text = (tmp_path / "2024-05-01-wrongful-discards" / "report.md").read_text()
    assert "| 2024-04-30 08:00 to 2024-05-02 00:00 UTC |" in text
    assert main(["report", "--db", path, "--since", "2024-05-02T00:00", "--until",
                 "2024-05-01T00:00", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_quiet_window_still_shows_what_people_wrote(recorded, tmp_path):
    """Nothing found in the window, annotations given: every human text, timeline entry and
    action item is in the short report all the same."""
    from datetime import timedelta

    notes = load_annotations(EXAMPLE)
    with Store.open(recorded("lost-follow-up"), read_only=True) as store:
        lo, _ = store.rollup_range()
        data = gather(store, since=lo + timedelta(days=1), until=lo + timedelta(days=2),
                      annotations=EXAMPLE)
    written = write_report(data, tmp_path)
    text = written.markdown.read_text()
    assert not written.found and "Nothing was found" in text
    for words in [*(t.splitlines()[0] for t in notes.texts.values()),
                  *(e.text for e in notes.timeline), *(a.action for a in notes.action_items)]:
        assert words in text, words
