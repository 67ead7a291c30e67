"""The engines that act over time: following a rollout (follow), running a migration (migration)."""
