"""Writes the forecasting series of data/ that come reshaped from Debian packages (README.md
beside this file says what and under which license). Install the packages, then run:

    apt-get install python3-vega-datasets python3-statsmodels
    /usr/bin/python3 data/make_series.py

seattle-temps-hourly.csv  vega_datasets/_data/seattle-temps.csv, unchanged: date,temp
elec-equip-monthly.csv    statsmodels/datasets/elec_equip/elec_equip.csv: dates "Jan-1-1995"
                          written as 1995-01-01, the column named "index"
elnino-monthly.csv        statsmodels/datasets/elnino/elnino.csv: one row per year with 12
                          monthly columns, written as one row per month: date,sst
city-temps-hourly.csv     vega_datasets/_data/seattle-temps.csv and sf-temps.csv, one after
                          the other in long format: city,date,temp (Seattle, then San
                          Francisco, whose dates "2010/01/01 00:00:00" lose their seconds)
Only the layout changes; every value is copied as written.
"""
import csv
import datetime
import shutil
from pathlib import Path

here = Path(__file__).resolve().parent
vega = Path("/usr/lib/python3/dist-packages/vega_datasets/_data")
sm = Path("/usr/lib/python3/dist-packages/statsmodels/datasets")


def write(name, header, rows):
    with open(here / name, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


shutil.copyfile(vega / "seattle-temps.csv", here / "seattle-temps-hourly.csv")

with open(sm / "elec_equip/elec_equip.csv") as f:
    rows = list(csv.reader(f))[1:]
write("elec-equip-monthly.csv", ["date", "index"],
      [[datetime.datetime.strptime(d, "%b-%d-%Y").date().isoformat(), v] for d, v in rows])

with open(sm / "elnino/elnino.csv") as f:
    rows = list(csv.reader(f))
write("elnino-monthly.csv", ["date", "sst"],
      [[f"{r[0]}-{m + 1:02d}-01", r[m + 1]] for r in rows[1:] for m in range(12)])

rows = []
for city, name in [("Seattle", "seattle-temps.csv"), ("San Francisco", "sf-temps.csv")]:
    with open(vega / name) as f:
        for r in csv.DictReader(f):
            date = r["date"][:16]  # "2010/01/01 00:00"
            rows.append([city, date, r["temp"]])
write("city-temps-hourly.csv", ["city", "date", "temp"], rows)
