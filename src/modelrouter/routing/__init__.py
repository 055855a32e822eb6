"""Routing: resolve a name to candidates, check each against the request and
the policy, order the admissible ones by strategy, and build the plan.
Pure functions of their inputs; see ``planner.plan``."""
