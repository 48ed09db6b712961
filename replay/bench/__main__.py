from replay.bench.run import command_line

command_line()()
