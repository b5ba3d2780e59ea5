# Readable, unambiguous English dates: "Dec 3, 2026, 8:05 PM" and "2026-12-03 20:05".
DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y, g:i A"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
