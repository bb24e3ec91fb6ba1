"""Price-drop alerts: subscribers, rules, the notification outbox and its delivery channels."""
