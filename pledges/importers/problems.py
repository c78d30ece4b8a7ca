"""What goes wrong in an uploaded report, said so a creator can fix the file."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file; a blocking problem keeps its row (or the file) out."""

    file: str
    line: int | None
    column: str | None
    message: str
    blocking: bool = True

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where} line {self.line}" if where else f"line {self.line}"
        if self.column:
            where = f"{where}, {self.column}" if where else self.column
        return f"{where}: {self.message}" if where else self.message


class UnreadableFile(Exception):
    """The whole file cannot be read: damaged or hostile ZIP, too big, not a CSV or
    workbook, or its text cannot be split into rows."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem

    @classmethod
    def about(cls, file: str, message: str, *, line: int | None = None) -> "UnreadableFile":
        return cls(Problem(file=file, line=line, column=None, message=message))
