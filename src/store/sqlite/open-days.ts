// The day databases a writer keeps open: most writes go to today, late events reopen older days.

import type Database from 'better-sqlite3';

/** Days kept open at most; the least recently written one is closed first. */
const OPEN_LIMIT = 4;

export class OpenDays<T extends { db: Database.Database }> {
  private readonly open = new Map<string, T>();

  constructor(private readonly openDay: (day: string) => T) {}

  get(day: string): T {
    let t = this.open.get(day);
    if (t) {
      // Most recently used last.
      this.open.delete(day);
      this.open.set(day, t);
      return t;
    }
    if (this.open.size >= OPEN_LIMIT) {
      const [oldest, q] = this.open.entries().next().value as [string, T];
      this.open.delete(oldest);
      q.db.close();
    }
    t = this.openDay(day);
    this.open.set(day, t);
    return t;
  }

  /** Closes one day's handle (before retention deletes its files). */
  closeDay(day: string): void {
    const t = this.open.get(day);
    if (!t) return;
    this.open.delete(day);
    t.db.close();
  }

  close(): void {
    for (const t of this.open.values()) t.db.close();
    this.open.clear();
  }
}
