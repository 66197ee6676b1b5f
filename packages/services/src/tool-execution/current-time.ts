// The `current_time` built-in's answer: the moment in the agent's time zone, spelled the ways a model
// needs to talk about it (ISO with offset, weekday, date, time).

export interface CurrentTime {
  now: string;
  timezone: string;
  weekday: string;
  date: string;
  time: string;
}

export function currentTime(now: Date, timeZone: string): CurrentTime {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'long',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  ) as Record<Intl.DateTimeFormatPartTypes, string | undefined>;
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  const time = `${parts.hour}:${parts.minute}`;
  // `GMT+01:00`, or plain `GMT` at offset zero.
  const offset = (parts.timeZoneName ?? 'GMT').replace(/^GMT/, '') || '+00:00';
  return {
    now: `${date}T${time}:${parts.second}${offset}`,
    timezone: timeZone,
    weekday: parts.weekday ?? '',
    date,
    time,
  };
}
