"""Protection planner: Stackelberg security games that randomize escorts, patrols and guard
posts so that no target is a sure bet (issue 8)."""
