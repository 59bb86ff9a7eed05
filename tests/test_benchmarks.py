"""The benchmarks that need no database still run: their stand-ins must keep up with the code they time."""
from bench import bench_import_read


def test_the_import_read_benchmark_times_the_import_up_to_its_database_phase(capsys):
    result = bench_import_read.main(["--rows", "3000", "--rounds", "1"])
    assert result["rows"] > 2_000
    assert 0 < result["ratio"] < 1  # the import's read does more than csv.reader alone
    assert "vs csv.reader" in capsys.readouterr().out
