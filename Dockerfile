# One image for every role; docker-compose.yml picks the command (web replicas, worker).
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY calendar_service ./calendar_service
RUN pip install --no-cache-dir .
COPY data ./data
ENV TRADE_CALENDAR_DATA_PATH=/app/data/events.yaml
EXPOSE 8080
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--workers", "2", "--threads", "4", "calendar_service.web:create_app()"]
