"""Which rows of a vector step carry real data.

A multi-agent slot with no agent, or a host-pool slot whose host left, is still a row
of the batch. Vector envs mark such rows with ``infos[ALIVE_INFO_KEY]`` (one bool per
row, False = filler); the trainer leaves filler rows out of its context and its loss.
An env that never has filler rows need not set it.
"""

ALIVE_INFO_KEY = "alive"
