"""The firing service: scheduled rules and EventBridge Scheduler schedules fire from here.

`service.SchedulerService` is the worker subsystem. The pure parts (the clock, the plans made
from config records, the agenda of due times, the state records) know nothing of Kafka; the
`owner` module holds the Kafka transactions that make each firing happen exactly once.
"""
