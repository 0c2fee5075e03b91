/** qlib's `Position` (qlib/backtest/position.py) for the daily backtest: cash plus holdings valued at their last close. */
export interface Holding {
  /** Adjusted shares. */
  amount: number;
  /** Last valuation price: the deal price on the buy day, then each day's close (kept while suspended). */
  price: number;
  /** Trading days held, counted at each day's end (qlib's `count_day`). */
  count: number;
}

export class Position {
  cash: number;
  readonly holdings = new Map<string, Holding>();

  constructor(cash: number) {
    this.cash = cash;
  }

  clone(): Position {
    const p = new Position(this.cash);
    for (const [k, h] of this.holdings) p.holdings.set(k, { ...h });
    return p;
  }

  /** Held instruments, by name (qlib iterates a set; a fixed order keeps runs reproducible). */
  stocks(): string[] {
    return [...this.holdings.keys()].sort();
  }

  amount(code: string): number {
    return this.holdings.get(code)?.amount ?? 0;
  }

  count(code: string): number {
    return this.holdings.get(code)?.count ?? 0;
  }

  /** qlib's `update_order`: the trade amount is value / price; a sell that empties a holding removes it. */
  applyTrade(code: string, direction: 'buy' | 'sell', value: number, cost: number, price: number): void {
    const amount = value / price;
    const h = this.holdings.get(code);
    if (direction === 'buy') {
      if (h) h.amount += amount;
      else this.holdings.set(code, { amount, price, count: 0 });
      this.cash -= value + cost;
    } else {
      if (h) {
        h.amount -= amount;
        if (Math.abs(h.amount) < 1e-5) this.holdings.delete(code);
      }
      this.cash += value - cost;
    }
  }

  stockValue(): number {
    let v = 0;
    for (const h of this.holdings.values()) v += h.amount * h.price;
    return v;
  }

  value(): number {
    return this.cash + this.stockValue();
  }
}
