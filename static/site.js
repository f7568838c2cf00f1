// On every page: times in the viewer's own time zone. The page states them in
// UTC (which is what shows without JavaScript); the UTC text stays on hover.
for (const time of document.querySelectorAll("time[datetime]")) {
  const when = new Date(time.dateTime);
  if (!time.dateTime.includes("T") || Number.isNaN(when.getTime())) continue;
  time.title = time.textContent.trim();
  time.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}
