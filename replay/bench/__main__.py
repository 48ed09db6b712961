from replay.bench.run import main

main()
