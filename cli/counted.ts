// Counts as people read them in the command's output: "1 row", "12,000 rows".
export const number = (value: number) => value.toLocaleString("en-US");

/** A count with its noun, singular for exactly one (`counted(2, "row")` is "2 rows"). */
export const counted = (value: number, noun: string, plural = `${noun}s`) =>
  `${number(value)} ${value === 1 ? noun : plural}`;
