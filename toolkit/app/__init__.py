"""The application layer: what the command line composes from the parts below it.

``runs`` records a scenario (engine -> telemetry -> OTLP JSON files -> store) or runs the live
engine into a spool; ``demo`` tells the 7 May 2024 story end to end; ``audit_check`` scores the
exact audit against a simulation's ground truth. Nothing below this package imports it.
"""
