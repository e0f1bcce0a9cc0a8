// Text helpers of the job table: durations, numbers, local times, and setting text only when
// it changes. Text is always set as text (textContent), never parsed as HTML.

/** Counts with thousands separators ("10,000"). */
export const count = new Intl.NumberFormat("en-US");

/** "42 s", "5 min", "3.2 h", "4 d" for a number of seconds. */
export function duration(seconds) {
  const s = Math.max(0, seconds);
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** A number with `digits` decimals; "" for anything else (a job without a result). */
export function number(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : "";
}

/** An epoch (seconds) as local date and time; "—" for none. */
export function localTime(epoch) {
  return typeof epoch === "number" ? new Date(epoch * 1000).toLocaleString() : "—";
}

/** Set text only when it differs (avoids layout work for the 1 s age refresh). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** A size in bytes as "812 B", "64 KB", "1.2 GB" (as the kernel's human_size). */
export function bytes(n) {
  let value = n;
  for (const unit of ["B", "KB", "MB", "GB"]) {
    if (value < 1024 || unit === "GB")
      return unit === "B" || value >= 10 ? `${Math.round(value)} ${unit}` : `${value.toFixed(1)} ${unit}`;
    value /= 1024;
  }
  return "";
}
