from modelrouter.cli import main

main()
