"""This application's own shared code: a folder named shared/, as many applications have."""

SERVICE_NAME = "shop-report"
