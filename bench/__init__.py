"""Switchboard's benchmarks: gateway overhead, failover, tail latency, editor responsiveness and
prompt cost, each contender run side by side in the same run against loopback fake providers.

Run `scripts/bench` (or `uv run --group bench python -m bench` from the repository root); see
the README's "Performance" section.
"""
