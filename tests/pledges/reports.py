"""Small backer reports in the platforms' real layouts, built for tests."""

import csv
import io
import zipfile
from pathlib import Path

KICKSTARTER_COLUMNS = [
    "Backer Number",
    "Backer UID",
    "Backer Name",
    "Email",
    "Shipping Country",
    "Shipping Amount",
    "Reward Title",
    "Reward Minimum",
    "Reward ID",
    "Pledge Amount",
    "Pledged At",
    "Rewards Sent?",
    "Pledged Status",
    "Notes",
    "Billing State/Province",
    "Billing Country",
    "Survey Response",
    "Shipping Name",
    "Shipping Address 1",
    "Shipping Address 2",
    "Shipping City",
    "Shipping State",
    "Shipping Postal Code",
    "Shipping Country Name",
    "Shipping Country Code",
    "Shipping Phone Number",
    "Shipping Delivery Notes",
]
# The columns of a reward file, then one survey question the creator asked.
KICKSTARTER_HEADER = [*KICKSTARTER_COLUMNS, "Which colour do you want?"]
NO_REWARD_HEADER = [
    "Backer Number",
    "Backer UID",
    "Backer Name",
    "Email",
    "Pledge Amount",
    "Pledged At",
    "Pledged Status",
    "Notes",
    "Billing State/Province",
    "Billing Country",
]
INDIEGOGO_HEADER = [
    "Order No.",
    "Pledge ID",
    "Referrer ID",
    "Fulfillment Status",
    "Funding Date",
    "Payment Method",
    "Appearance",
    "Name",
    "Email",
    "Amount",
    "Shipping Fees",
    "Platform Fee",
    "Transaction Fee",
    "Perk ID",
    "Perk",
    "Shipping Name",
    "Shipping Phone Number",
    "Shipping Address",
    "Shipping Address 2",
    "Shipping City",
    "Shipping State/Province",
    "Shipping Zip/Postal Code",
    "Shipping Country",
    "Carrier",
    "Tracking Number",
    "Item Name",
    "Item SKU",
    "Option 1",
    "Option 2",
    "Option 3",
]


def ks_row(n: int, **over) -> dict:
    row = {
        "Backer Number": str(n),
        "Backer UID": str(5_000_000_000 + n),
        "Backer Name": f"Backer {n} Åström",
        "Email": f"backer{n}@example.se",
        "Shipping Country": "SE",
        "Shipping Amount": "$10.00 USD",
        "Reward Title": "Core Game",
        "Reward Minimum": "$59.00 USD",
        "Reward ID": "7001",
        "Pledge Amount": "$69.00 USD",
        "Pledged At": "2026/10/02, 10:27",
        "Rewards Sent?": "",
        "Pledged Status": "collected",
        "Notes": "",
        "Billing State/Province": "",
        "Billing Country": "SE",
        "Survey Response": "",
        "Shipping Name": f"Backer {n} Åström",
        "Shipping Address 1": f"Storgatan {n}",
        "Shipping Address 2": "",
        "Shipping City": "Tyresö",
        "Shipping State": "Stockholms Län",
        "Shipping Postal Code": "135 40",
        "Shipping Country Name": "Sweden",
        "Shipping Country Code": "SE",
        "Shipping Phone Number": "",
        "Shipping Delivery Notes": "",
        "Which colour do you want?": "Blue",
    }
    row.update(over)
    return row


def csv_text(header: list[str], rows: list[dict], *, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in header})
    return buffer.getvalue()


def write_kickstarter_csv(path: Path, rows: list[dict], *, encoding: str = "utf-8") -> Path:
    path.write_bytes(csv_text(KICKSTARTER_HEADER, rows).encode(encoding))
    return path


def write_kickstarter_zip(path: Path, tiers: dict[str, list[dict]], no_reward: list[dict]) -> Path:
    """A ZIP like Kickstarter's: one CSV per tier (file name carries the tier) + No reward."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tiers.items():
            archive.writestr(name, csv_text(KICKSTARTER_HEADER, rows))
        archive.writestr("No reward - Oct 25 10pm.csv", csv_text(NO_REWARD_HEADER, no_reward))
    return path
