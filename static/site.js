// On every page: times in the viewer's own time zone (the page states them in
// UTC, which is what shows without JavaScript; the UTC text stays on hover),
// and Copy buttons for what is meant to be copied (hidden without JavaScript).
for (const time of document.querySelectorAll("time[datetime]")) {
  const when = new Date(time.dateTime);
  if (!time.dateTime.includes("T") || Number.isNaN(when.getTime())) continue;
  time.title = time.textContent.trim();
  time.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select the text and copy it";
    }
    setTimeout(() => { button.textContent = label; }, 3000);
  });
}
