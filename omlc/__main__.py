from omlc.cli import main

main()
