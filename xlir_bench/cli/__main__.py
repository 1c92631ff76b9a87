from xlir_bench.cli import main

main()
