"""Reading uploaded files into sheets of text rows: ZIPs of CSVs, workbooks, and CSV
text in the encodings and delimiters spreadsheet programs write."""

import io
import stat
import struct
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pledges.importers.problems import Problem, UnreadableFile
from pledges.importers.reading import read_sheets

MIB = 1024 * 1024
TIER_HEADER = "Backer Number,Backer UID,Backer Name,Email,Pledge Amount\r\n"
NO_REWARD_HEADER = "Backer Number,Backer UID,Backer Name,Email,Pledge Amount,Pledged At\r\n"


def read_all(path: Path, *, name: str | None = None, **limits):
    """Every sheet as (name, header, [(line, cells), …])."""
    limits.setdefault("max_bytes", 10 * MIB)
    return [
        (sheet.name, sheet.header, list(sheet.rows))
        for sheet in read_sheets(path, original_name=name or path.name, **limits)
    ]


def unreadable(path: Path, **limits) -> Problem:
    with pytest.raises(UnreadableFile) as error:
        read_all(path, **limits)
    return error.value.problem


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def zip_bytes(members: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def set_flag_bits(data: bytes, *, set_bits: int = 0, clear_bits: int = 0) -> bytes:
    """Change the general-purpose flags of every entry, in local and central headers."""
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            (flags,) = struct.unpack_from("<H", data, start + offset)
            struct.pack_into("<H", data, start + offset, (flags | set_bits) & ~clear_bits)
            start += 4
    return bytes(data)


# --- the Kickstarter ZIP -------------------------------------------------------------


def kickstarter_zip() -> bytes:
    return zip_bytes(
        {
            "59.00 USD Expansion + Base Game - Oct 25 10pm.csv": TIER_HEADER
            + "3,1001,Anna Berg,anna@example.com,$59.00 USD\r\n"
            + "7,1002,Björn Ek,bjorn@example.com,$64.00 USD\r\n",
            "25.00 USD Base Game - Oct 25 10pm.csv": TIER_HEADER
            + "1,1003,Cleo Dahl,cleo@example.com,$25.00 USD\r\n",
            "No reward - Oct 25 10pm.csv": NO_REWARD_HEADER
            + '2,1004,Dan Fors,dan@example.com,$1.00 USD,"2018/03/28, 10:27"\r\n',
            "__MACOSX/._No reward - Oct 25 10pm.csv": b"\x00\x05\x16\x07junk",
            ".DS_Store": b"\x00\x00\x00\x01Bud1",
            "README.pdf": b"%PDF-1.4",
        }
    )


def test_a_kickstarter_zip_gives_one_sheet_per_tier_file(tmp_path):
    sheets = read_all(write(tmp_path, "report.zip", kickstarter_zip()))
    assert [name for name, _, _ in sheets] == [
        "25.00 USD Base Game - Oct 25 10pm.csv",
        "59.00 USD Expansion + Base Game - Oct 25 10pm.csv",
        "No reward - Oct 25 10pm.csv",
    ]
    tier = sheets[1]
    assert tier[1] == ["Backer Number", "Backer UID", "Backer Name", "Email", "Pledge Amount"]
    assert tier[2] == [
        (2, ["3", "1001", "Anna Berg", "anna@example.com", "$59.00 USD"]),
        (3, ["7", "1002", "Björn Ek", "bjorn@example.com", "$64.00 USD"]),
    ]
    assert sheets[2][2] == [
        (2, ["2", "1004", "Dan Fors", "dan@example.com", "$1.00 USD", "2018/03/28, 10:27"])
    ]


def test_rows_of_earlier_sheets_stay_readable_after_later_sheets_are_taken(tmp_path):
    sheets = list(
        read_sheets(
            write(tmp_path, "r.zip", kickstarter_zip()), original_name="r.zip", max_bytes=MIB
        )
    )
    assert [len(list(sheet.rows)) for sheet in sheets] == [1, 2, 1]


def test_the_kind_of_file_is_told_by_its_bytes_not_its_name(tmp_path):
    sheets = read_all(write(tmp_path, "report.csv", kickstarter_zip()))
    assert len(sheets) == 3
    csv_named_zip = read_all(write(tmp_path, "backers.zip", b"a,b\n1,2\n"))
    assert csv_named_zip == [("backers.zip", ["a", "b"], [(2, ["1", "2"])])]


def test_utf8_member_names_without_the_utf8_flag_are_shown_right(tmp_path):
    data = set_flag_bits(zip_bytes({"Tyresö backers.csv": "a,b\n1,2\n"}), clear_bits=0x800)
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() != ["Tyresö backers.csv"]
    [(name, _, _)] = read_all(write(tmp_path, "r.zip", data))
    assert name == "Tyresö backers.csv"


# --- ZIP guards ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "member",
    [
        "/etc/backers.csv",
        "../backers.csv",
        "reports/../../backers.csv",
        "..\\..\\backers.csv",
        "C:/x.csv",
    ],
)
def test_a_zip_with_an_unsafe_member_name_is_refused(tmp_path, member):
    problem = unreadable(write(tmp_path, "r.zip", zip_bytes({member: "a,b\n1,2\n"})))
    assert problem.file == "r.zip"
    assert problem.message == f"The ZIP holds a file with an unsafe name: {member!r}."


def test_a_zip_holding_a_link_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("backers.csv")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    problem = unreadable(write(tmp_path, "r.zip", buffer.getvalue()))
    assert problem.message == "The ZIP holds a link ('backers.csv'); only plain files are read."


def test_a_zip_inside_the_zip_is_refused(tmp_path):
    inner = zip_bytes({"backers.csv": "a,b\n1,2\n"})
    problem = unreadable(write(tmp_path, "r.zip", zip_bytes({"report.zip": inner})))
    assert problem.message == (
        "The ZIP holds another ZIP ('report.zip'); upload the backer report ZIP itself."
    )
    disguised = zip_bytes({"backers.csv": inner})
    problem = unreadable(write(tmp_path, "d.zip", disguised))
    assert problem == Problem(
        "backers.csv",
        None,
        None,
        "This file is itself a ZIP; upload the backer report ZIP or its CSV files.",
    )


def test_a_zip_that_unpacks_beyond_the_limit_is_refused(tmp_path):
    members = {f"tier {n}.csv": "a,b\n" + "1,2\n" * 100_000 for n in range(3)}
    path = write(tmp_path, "r.zip", zip_bytes(members))
    problem = unreadable(path, max_bytes=MIB, max_unzipped_bytes=1_000_000)
    assert problem.message == "The ZIP unpacks to 1.3 MB; the limit is 1 MB."


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = write(tmp_path, "r.zip", zip_bytes({"backers.csv": b"0" * (5 * MIB)}))
    problem = unreadable(path, max_bytes=MIB, max_unzipped_bytes=100 * MIB)
    assert problem.message == (
        "'backers.csv' in the ZIP is packed more than 100:1; this looks like a ZIP bomb, not a report."
    )


def test_a_zip_whose_directory_understates_its_sizes_is_refused(tmp_path):
    data = bytearray(zip_bytes({"backers.csv": "a,b\n" + "1,2\n" * 50_000}))
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)  # uncompressed size: "100 bytes"
    problem = unreadable(write(tmp_path, "r.zip", bytes(data)))
    assert problem.file == "backers.csv"
    assert problem.message == "The file cannot be unpacked; the ZIP is damaged or cut short."


def test_a_zip_with_too_many_files_is_refused(tmp_path):
    members = {f"tier {n}.csv": "a\n1\n" for n in range(6)}
    problem = unreadable(write(tmp_path, "r.zip", zip_bytes(members)), max_members=5)
    assert problem.message == "The ZIP holds 6 files; the limit is 5."


def test_a_password_protected_zip_is_refused(tmp_path):
    data = set_flag_bits(zip_bytes({"backers.csv": "a,b\n1,2\n"}), set_bits=0x1)
    problem = unreadable(write(tmp_path, "r.zip", data))
    assert problem.message == "'backers.csv' in the ZIP is password-protected; zip it without one."


def test_a_zip_without_csv_files_is_refused(tmp_path):
    data = zip_bytes({"report.pdf": b"%PDF", "__MACOSX/._a.csv": "a\n1\n", ".hidden.csv": "a\n1\n"})
    problem = unreadable(write(tmp_path, "r.zip", data))
    assert problem == Problem("r.zip", None, None, "The ZIP holds no CSV file.")


def test_a_cut_short_zip_is_refused(tmp_path):
    data = kickstarter_zip()
    problem = unreadable(write(tmp_path, "r.zip", data[: len(data) // 2]))
    assert problem.message == (
        "The file looks like a ZIP but cannot be opened; it may be damaged or cut short."
    )


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.truncate(int(250.26 * MIB))  # sparse: nothing is written
    problem = unreadable(path, max_bytes=200 * MIB)
    assert str(problem) == "huge.csv: The file is 250.3 MB; the limit is 200 MB."
    small = write(tmp_path, "small.csv", b"a\n" * 617_284)
    assert (
        unreadable(small, max_bytes=1_000_000).message == "The file is 1.3 MB; the limit is 1 MB."
    )


# --- encodings, delimiters, line endings ---------------------------------------------


def test_excel_unicode_text_is_utf16_with_tabs(tmp_path):
    text = "Backer Number\tBacker Name\tShipping City\r\n1\tAnna Berg\tTyresö\r\n2\t李明\t北京\r\n"
    path = write(tmp_path, "backers.txt", text.encode("utf-16"))  # BOM, little-endian here
    assert path.read_bytes()[:2] == b"\xff\xfe"
    assert read_all(path) == [
        (
            "backers.txt",
            ["Backer Number", "Backer Name", "Shipping City"],
            [(2, ["1", "Anna Berg", "Tyresö"]), (3, ["2", "李明", "北京"])],
        )
    ]


def test_utf16_without_a_bom_is_recognised_by_its_nul_bytes(tmp_path):
    text = "Backer Number,Backer Name\n1,Anna Berg\n"
    for codec in ("utf-16-le", "utf-16-be"):
        path = write(tmp_path, f"{codec}.csv", text.encode(codec))
        assert read_all(path)[0][1:] == (
            ["Backer Number", "Backer Name"],
            [(2, ["1", "Anna Berg"])],
        )


def test_windows_1252_text_keeps_its_accents(tmp_path):
    path = write(tmp_path, "b.csv", "Name,City\r\nÅsa Öberg,Tyresö\r\n".encode("cp1252"))
    assert read_all(path)[0][2] == [(2, ["Åsa Öberg", "Tyresö"])]


def test_bytes_undefined_in_windows_1252_are_read_as_latin1(tmp_path):
    path = write(tmp_path, "b.csv", b"Name,City\r\nBj\xf6rn,x\x81y\r\n")
    assert read_all(path)[0][2] == [(2, ["Björn", "x\x81y"])]


def test_a_cp1252_byte_after_a_long_utf8_start_does_not_stop_the_file(tmp_path):
    start = "Name,City\n" + "Åsa,Tyresö\n" * 10_000  # past the 64 KB sample
    path = write(tmp_path, "b.csv", start.encode() + "Björn,Umeå\n".encode("cp1252"))
    rows = read_all(path)[0][2]
    assert rows[0] == (2, ["Åsa", "Tyresö"])
    assert rows[-1] == (10_002, ["Björn", "Umeå"])


def test_a_utf8_character_cut_by_the_sample_end_is_still_utf8(tmp_path):
    # "ö" is two bytes; pad so the 65,536th byte, the last of the sample, is the first.
    first = "Name\n" + "x" * 65_524 + "\n"
    data = (first + "Tyresö\n").encode()
    assert data[65_535:65_537] == "ö".encode()
    path = write(tmp_path, "b.csv", data)
    rows = read_all(path)[0][2]
    assert rows[-1] == (3, ["Tyresö"])


def test_a_utf8_bom_is_not_part_of_the_first_header(tmp_path):
    path = write(tmp_path, "b.csv", "Backer Number,Email\n1,a@example.com\n".encode("utf-8-sig"))
    assert read_all(path)[0][1] == ["Backer Number", "Email"]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_any_line_ending_gives_the_same_rows_and_lines(tmp_path, newline):
    text = newline.join(["a,b", '1,"two', 'lines"', "3,4", ""])
    rows = read_all(write(tmp_path, "b.csv", text.encode()))[0][2]
    assert rows == [(2, ["1", f"two{newline}lines"]), (4, ["3", "4"])]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_the_delimiter_is_taken_from_the_header_line(tmp_path, delimiter):
    header = delimiter.join(["Backer Number", "Name", "Question, with a comma?", "Amount"])
    row = delimiter.join(["1", "Anna", "yes", "1,234.00"])
    if delimiter == ",":
        header = 'Backer Number,Name,"Question, with a comma?",Amount'
        row = '1,Anna,yes,"1,234.00"'
    [(_, found, rows)] = read_all(write(tmp_path, "b.csv", f"{header}\r\n{row}\r\n".encode()))
    assert found == ["Backer Number", "Name", "Question, with a comma?", "Amount"]
    assert rows == [(2, ["1", "Anna", "yes", "1,234.00"])]


def test_blank_rows_are_skipped_wherever_they_are(tmp_path):
    text = "\r\na,b,c\r\n1,2,3\r\n,,\r\n  , ,\r\n4,5,6\r\n,,\r\n\r\n,,\r\n"
    [(_, header, rows)] = read_all(write(tmp_path, "b.csv", text.encode()))
    assert header == ["a", "b", "c"]
    assert rows == [(3, ["1", "2", "3"]), (6, ["4", "5", "6"])]


def test_short_and_long_rows_are_kept_as_read(tmp_path):
    rows = read_all(write(tmp_path, "b.csv", b"a,b,c\n1,2\n1,2,3,4\n"))[0][2]
    assert rows == [(2, ["1", "2"]), (3, ["1", "2", "3", "4"])]


# --- files that are no CSV -----------------------------------------------------------


def test_an_empty_file_is_refused(tmp_path):
    assert unreadable(write(tmp_path, "b.csv", b"")).message == "The file is empty."
    assert unreadable(write(tmp_path, "c.csv", b"\r\n , \r\n")).message == "The file has no rows."


def test_a_binary_file_is_refused(tmp_path):
    problem = unreadable(write(tmp_path, "b.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50))
    assert problem.message == "This is not a CSV, ZIP or Excel file: it holds binary data."


def test_an_old_excel_workbook_is_refused_with_what_to_do(tmp_path):
    problem = unreadable(
        write(tmp_path, "b.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500)
    )
    assert problem.message == "This is an old Excel .xls workbook; save it as .xlsx or CSV."


def test_nul_bytes_in_a_csv_are_dropped(tmp_path):
    path = write(tmp_path, "b.csv", b"a,b\n" + b"1,2\n" * 200 + b"3,4\x00\n")
    assert read_all(path)[0][2][-1] == (202, ["3", "4"])


def test_a_quote_never_closed_is_reported_at_its_line(tmp_path):
    text = b'a,b\n1,2\n3,"never closed\n' + b"x" * 200_000 + b"\n"
    path = write(tmp_path, "b.csv", text)
    problem = unreadable(path)
    assert str(problem) == (
        "b.csv line 3: A cell is longer than 131,072 characters; is a quote character never closed?"
    )


def test_a_line_of_megabytes_is_refused(tmp_path):
    path = write(tmp_path, "b.csv", b"a,b\n" + b"x" * (2 * MIB))
    problem = unreadable(path)
    assert problem.line == 2
    assert (
        problem.message
        == "The line is longer than 1,048,576 characters; this is not a backer report."
    )


# --- Excel workbooks -----------------------------------------------------------------


def workbook_bytes(sheets: dict[str, list[list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for row in rows:
            worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_workbook_is_read_with_values_as_export_text(tmp_path):
    data = workbook_bytes(
        {
            "Backers": [
                ["Backer Number", "Backer UID", "Pledge Amount", "Pledged At", "Name", None],
                [1, 1234567890123, 59.0, datetime(2018, 3, 28, 10, 27), "Åsa", None],
                [2, 1234567890124, 12.5, "2018/03/29, 11:00", None],
                [None, None, None, None, None],
                [3, 1234567890125, 0.1 + 0.2, None, "Bo", None, None, ""],
            ]
        }
    )
    [(name, header, rows)] = read_all(write(tmp_path, "backers.xlsx", data))
    assert name == "backers.xlsx"
    assert header == ["Backer Number", "Backer UID", "Pledge Amount", "Pledged At", "Name"]
    assert rows == [
        (2, ["1", "1234567890123", "59", "2018-03-28T10:27:00", "Åsa"]),
        (3, ["2", "1234567890124", "12.5", "2018/03/29, 11:00", ""]),
        (5, ["3", "1234567890125", "0.3", "", "Bo"]),
    ]


def test_every_worksheet_with_rows_is_its_own_sheet(tmp_path):
    data = workbook_bytes(
        {
            "Tier A": [["Backer UID", "Pledge Amount"], ["1", "$5"]],
            "Empty": [],
            "Tier B": [[], [], ["Backer UID", "Pledge Amount"], ["2", "$6"]],
        }
    )
    sheets = read_all(write(tmp_path, "b.xlsx", data))
    assert sheets == [
        ("b.xlsx (Tier A)", ["Backer UID", "Pledge Amount"], [(2, ["1", "$5"])]),
        ("b.xlsx (Tier B)", ["Backer UID", "Pledge Amount"], [(4, ["2", "$6"])]),
    ]


def test_a_workbook_with_no_rows_is_refused(tmp_path):
    problem = unreadable(write(tmp_path, "b.xlsx", workbook_bytes({"Sheet": []})))
    assert problem.message == "The workbook has no rows."


def test_a_damaged_workbook_is_refused(tmp_path):
    data = bytearray(workbook_bytes({"S": [["a", "b"], [1, 2]]}))
    members = zip_bytes(
        {
            name: (
                b"<not xml"
                if name.startswith("xl/worksheets/")
                else zipfile.ZipFile(io.BytesIO(data)).read(name)
            )
            for name in zipfile.ZipFile(io.BytesIO(data)).namelist()
        }
    )
    with pytest.raises(UnreadableFile):
        read_all(write(tmp_path, "b.xlsx", members))


# --- whatever the bytes --------------------------------------------------------------


def _damaged(data: bytes, position: int, value: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([value]) + data[position + 1 :]


_VALID_ZIP = kickstarter_zip()
_VALID_WORKBOOK = workbook_bytes({"S": [["Backer UID", "Pledge Amount"], [1, 5.5], ["x", None]]})

arbitrary_files = st.one_of(
    st.binary(max_size=2048),
    st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b),
    st.text(max_size=300).map(lambda t: t.encode("utf-16")),
    st.text(alphabet=st.sampled_from(',;\t|"\r\n aéö\x00'), max_size=300).map(str.encode),
    st.builds(_damaged, st.just(_VALID_ZIP), st.integers(0, 10**6), st.integers(0, 255)),
    st.builds(_damaged, st.just(_VALID_WORKBOOK), st.integers(0, 10**6), st.integers(0, 255)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arbitrary_files)
def test_arbitrary_bytes_raise_nothing_but_unreadable_file(data):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "upload"
        path.write_bytes(data)
        try:
            for sheet in read_sheets(path, original_name="upload", max_bytes=MIB):
                assert isinstance(sheet.header, list)
                for line, cells in sheet.rows:
                    assert line >= 1
                    assert all(isinstance(cell, str) for cell in cells)
        except UnreadableFile as error:
            assert isinstance(error.problem, Problem)
            assert error.problem.message


def test_problems_read_as_file_line_column_and_message():
    assert str(Problem("backers.csv", 4812, "Pledge Amount", "'abc' is not an amount")) == (
        "backers.csv line 4812, Pledge Amount: 'abc' is not an amount"
    )
    assert str(Problem("backers.csv", 12, None, "has 12 cells, the header has 27")) == (
        "backers.csv line 12: has 12 cells, the header has 27"
    )
    assert str(Problem("r.zip", None, None, "The ZIP holds no CSV file.")) == (
        "r.zip: The ZIP holds no CSV file."
    )
    assert str(UnreadableFile.about("r.zip", "The file is empty.")) == "r.zip: The file is empty."
