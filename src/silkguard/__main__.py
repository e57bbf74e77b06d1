from silkguard.cli.main import main

main()
