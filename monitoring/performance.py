"""Return-series metrics (Sharpe, Sortino, Calmar, drawdown, alpha/beta) and per-strategy trade
statistics, in plain numpy so they run inside LEAN's image too.

Conventions follow empyrical (the reference the tests check against): daily simple returns,
252 periods a year, sample standard deviation for Sharpe, downside deviation below zero for
Sortino, CAGR over maximum drawdown for Calmar, and alpha compounded from the mean daily residual.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from core.trades import trade_key
from core.types import PositionGroup
from monitoring.open_positions import OpenPosition

PERIODS_PER_YEAR = 252
UNDERPERFORMANCE_MIN_TRADES = 10  # STRATEGY_RULES.md: judge a strategy's win rate after >= 10 trades
UNDERPERFORMANCE_SHARE = 0.80  # ... and flag it below 80% of the expected rate
# STRATEGY_RULES.md "expected win rates"; Settings.risk_expected_win_rates overrides them.
RULEBOOK_WIN_RATES = ("zero_dte:0.88", "lt112:0.95", "strangle:0.70", "ipmcc:0.75", "leap_ladder:0.85")


def expected_win_rates(settings: object) -> dict[str, float]:
    """``strategy -> expected win rate`` from the settings' ``NAME:RATE`` pairs."""
    out: dict[str, float] = {}
    for pair in getattr(settings, "risk_expected_win_rates", RULEBOOK_WIN_RATES):
        name, sep, value = str(pair).partition(":")
        try:
            rate = float(value)
        except ValueError:
            rate = math.nan
        if not sep or not name.strip() or not 0 <= rate <= 1:
            raise ValueError(f"expected win rate must be STRATEGY:RATE with RATE in 0..1, got {pair!r}")
        out[name.strip()] = rate
    return out


def returns_from_values(values: Sequence[float], start_value: float | None = None) -> np.ndarray:
    """Simple period returns of a value series; ``start_value`` adds the return of the first period.

    Non-positive or non-finite values make returns meaningless, so they raise instead of producing
    infinities that would poison every metric downstream."""
    arr = np.asarray(([start_value] if start_value is not None else []) + list(values), dtype=float)
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr <= 0)):
        bad = [v for v in arr.tolist() if not (math.isfinite(v) and v > 0)]
        raise ValueError(f"account values must be positive and finite to form returns, got {bad[:3]}")
    if arr.size < 2:
        return np.zeros(0)
    return arr[1:] / arr[:-1] - 1.0


def sharpe_ratio(returns: np.ndarray, risk_free: float = 0.0) -> float:
    r = np.asarray(returns, dtype=float) - risk_free
    if r.size < 2:
        return math.nan
    if np.max(r) == np.min(r):
        return math.nan if np.mean(r) == 0 else math.copysign(math.inf, float(np.mean(r)))
    return float(np.mean(r) / np.std(r, ddof=1) * math.sqrt(PERIODS_PER_YEAR))


def downside_risk(returns: np.ndarray, required_return: float = 0.0) -> float:
    r = np.asarray(returns, dtype=float)
    if r.size < 1:
        return math.nan
    diff = np.clip(r - required_return, -np.inf, 0.0)
    return float(np.sqrt(np.mean(diff**2)) * math.sqrt(PERIODS_PER_YEAR))


def sortino_ratio(returns: np.ndarray, required_return: float = 0.0) -> float:
    r = np.asarray(returns, dtype=float)
    if r.size < 2:
        return math.nan
    risk = downside_risk(r, required_return)
    mean = float(np.mean(r - required_return)) * PERIODS_PER_YEAR
    if risk == 0:
        return math.nan if mean == 0 else math.copysign(math.inf, mean)
    return mean / risk


def cumulative_values(returns: np.ndarray, start: float = 1.0) -> np.ndarray:
    """Value path starting at ``start`` (included) compounded by ``returns``."""
    return start * np.concatenate([[1.0], np.cumprod(1.0 + np.asarray(returns, dtype=float))])


def drawdown_series(returns: np.ndarray) -> np.ndarray:
    """Drawdown from the running peak after each period (0 at a new high, negative below it)."""
    path = cumulative_values(returns)
    peak = np.maximum.accumulate(path)
    return (path / peak - 1.0)[1:]


def max_drawdown(returns: np.ndarray) -> float:
    r = np.asarray(returns, dtype=float)
    if r.size < 1:
        return math.nan
    return float(min(0.0, np.min(drawdown_series(r))))


def annual_return(returns: np.ndarray) -> float:
    """Compound annual growth rate."""
    r = np.asarray(returns, dtype=float)
    if r.size < 1:
        return math.nan
    ending = float(np.prod(1.0 + r))
    return ending ** (PERIODS_PER_YEAR / r.size) - 1.0


def annual_volatility(returns: np.ndarray) -> float:
    r = np.asarray(returns, dtype=float)
    if r.size < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(PERIODS_PER_YEAR))


def calmar_ratio(returns: np.ndarray) -> float:
    dd = max_drawdown(returns)
    if not dd < 0:
        return math.nan
    value = annual_return(returns) / abs(dd)
    return math.nan if math.isinf(value) else value


def alpha_beta(returns: np.ndarray, benchmark: np.ndarray, risk_free: float = 0.0) -> tuple[float, float]:
    """(annualised alpha, beta) of ``returns`` against ``benchmark`` returns of the same days."""
    r = np.asarray(returns, dtype=float)
    b = np.asarray(benchmark, dtype=float)
    if r.shape != b.shape:
        raise ValueError(f"returns and benchmark must cover the same days ({r.size} vs {b.size})")
    if r.size < 2:
        return math.nan, math.nan
    b_res = b - np.mean(b)
    variance = float(np.mean(b_res**2))
    if variance < 1e-30:
        return math.nan, math.nan
    beta = float(np.mean(b_res * r)) / variance
    residual = (r - risk_free) - beta * (b - risk_free)
    alpha = (float(np.mean(residual)) + 1.0) ** PERIODS_PER_YEAR - 1.0
    return alpha, beta


@dataclass(frozen=True)
class DrawdownEpisode:
    """The deepest fall: from ``peak`` to ``trough``, ``recovered`` when the old high came back."""

    depth: float
    peak: date | None
    trough: date | None
    recovered: date | None
    sessions: int  # peak to recovery (or to the last day when not recovered)


def drawdown_episode(days: Sequence[date], values: Sequence[float]) -> DrawdownEpisode:
    """The maximum drawdown with its dates and duration in sessions, from daily account values."""
    if len(days) != len(values):
        raise ValueError("days and values must have the same length")
    if not values:
        return DrawdownEpisode(0.0, None, None, None, 0)
    arr = np.asarray(values, dtype=float)
    peak = np.maximum.accumulate(arr)
    dd = arr / peak - 1.0
    trough_i = int(np.argmin(dd))
    if dd[trough_i] >= 0:
        return DrawdownEpisode(0.0, None, None, None, 0)
    before = arr[: trough_i + 1]
    peak_i = trough_i - int(np.argmax(before[::-1]))  # the last session at the high, where the fall began
    after = np.nonzero(arr[trough_i:] >= arr[peak_i])[0]
    rec_i = trough_i + int(after[0]) if after.size else None
    end_i = rec_i if rec_i is not None else len(arr) - 1
    return DrawdownEpisode(
        float(dd[trough_i]),
        days[peak_i],
        days[trough_i],
        None if rec_i is None else days[rec_i],
        end_i - peak_i,
    )


def longest_underwater(values: Sequence[float]) -> int:
    """Longest run of sessions spent below a previous high (any drawdown, not only the deepest)."""
    best = run = 0
    peak = -math.inf
    for v in values:
        if v >= peak:
            peak, run = v, 0
        else:
            run += 1
            best = max(best, run)
    return best


@dataclass(frozen=True)
class PortfolioMetrics:
    sessions: int
    total_return: float
    annual_return: float
    annual_volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_peak: date | None
    max_drawdown_trough: date | None
    max_drawdown_recovered: date | None
    max_drawdown_sessions: int
    longest_underwater_sessions: int
    alpha: float
    beta: float
    benchmark: str

    def as_dict(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}


def portfolio_metrics(
    days: Sequence[date],
    values: Sequence[float],
    start_value: float,
    benchmark_prices: Mapping[date, float] | None = None,
    benchmark: str = "SPY",
) -> PortfolioMetrics:
    """Everything about the account's daily value path; alpha/beta need the benchmark's closes on
    the same days (plus the day before the first, or the first day's return is dropped)."""
    returns = returns_from_values(values, start_value)
    episode = drawdown_episode(list(days), list(values))
    alpha = beta = math.nan
    if benchmark_prices:
        r, b = aligned_benchmark_returns(days, returns, benchmark_prices)
        alpha, beta = alpha_beta(r, b)
    total = (values[-1] / start_value - 1.0) if values else math.nan
    return PortfolioMetrics(
        sessions=len(values),
        total_return=total,
        annual_return=annual_return(returns),
        annual_volatility=annual_volatility(returns),
        sharpe=sharpe_ratio(returns),
        sortino=sortino_ratio(returns),
        calmar=calmar_ratio(returns),
        max_drawdown=max_drawdown(returns),
        max_drawdown_peak=episode.peak,
        max_drawdown_trough=episode.trough,
        max_drawdown_recovered=episode.recovered,
        max_drawdown_sessions=episode.sessions,
        longest_underwater_sessions=longest_underwater([start_value, *values]),
        alpha=alpha,
        beta=beta,
        benchmark=benchmark,
    )


def aligned_benchmark_returns(
    days: Sequence[date], returns: np.ndarray, prices: Mapping[date, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of (strategy, benchmark) returns for the days where the benchmark has a close on the
    day and on the previous session; other days are left out rather than guessed."""
    r_out: list[float] = []
    b_out: list[float] = []
    for i, day in enumerate(days):
        prev = days[i - 1] if i > 0 else None
        if prev is None or day not in prices or prev not in prices:
            continue
        p0, p1 = prices[prev], prices[day]
        if not (p0 > 0 and p1 > 0):
            continue
        r_out.append(float(returns[i]))
        b_out.append(p1 / p0 - 1.0)
    return np.asarray(r_out), np.asarray(b_out)


# --- trades -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosedTrade:
    """What the statistics need of one closed position group."""

    group_id: str
    strategy: str
    closed: date
    pnl: float  # after fees
    fees: float
    slippage: float = 0.0  # dollars paid against the mid when the order was proposed (cost > 0)
    trade: str = ""  # the rulebook trade it is part of (``core.trades.trade_key``); "" = itself

    @classmethod
    def of(cls, group: PositionGroup, slippage: float = 0.0, closed: date | None = None) -> ClosedTrade:
        """A closed group as a trade; ``closed`` stands in when the group carries no close time."""
        day = group.closed_at.date() if group.closed_at is not None else closed
        if day is None:
            raise ValueError(f"{group.group_id} has no close time")
        fees = group.entry_fees + group.exit_fees
        trade = trade_key(group.strategy, group.campaign_id, group.group_id)
        return cls(group.group_id, group.strategy, day, group.realized_pnl(), fees, slippage, trade)


@dataclass(frozen=True)
class StrategyStats:
    """A strategy's figures.  P&L is realised (closed trades) plus open (held positions at their
    marks): the one definition every report and summary uses.  The trade figures (count, win rate,
    averages, profit factor) are of finished trades as the rulebook counts them (``core.trades``:
    an LT112 unit, an IPMCC campaign); realised P&L and costs are of every closed group.  A scratch
    trade (P&L 0.00 after fees) is neither a win nor a loss: the win rate is wins over decided
    (won or lost) trades."""

    strategy: str
    trades: int
    wins: int
    losses: int
    scratches: int
    win_rate: float
    expected_win_rate: float | None
    underperforming: bool  # >= 10 trades and win rate below 80% of expected
    realized_pnl: float
    open_pnl: float  # held positions at their marks (unmarked ones left out, counted below)
    open_positions: int
    unmarked: int  # held positions with a leg unquoted at the mark: their value is unknown
    total_pnl: float  # realised + open
    pnl_share: float  # this strategy's share of the portfolio's absolute P&L contributions
    average_win: float
    average_loss: float
    largest_loss: float
    profit_factor: float
    expectancy: float
    fees: float
    slippage: float
    gross_pnl: float  # of closed trades, before fees and slippage: what they made at mid, free
    cost_share_of_gross: float
    daily_pnl: dict[date, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        out = {k: v for k, v in self.__dict__.items() if k != "daily_pnl"}
        return out


def outcome(pnl: float) -> int:
    """+1 win, -1 loss, 0 scratch: P&L after fees to the cent (the account's unit)."""
    cents = round(pnl * 100)
    return (cents > 0) - (cents < 0)


def strategy_stats(
    trades: Iterable[ClosedTrade],
    expected_win_rates: Mapping[str, float] | None = None,
    open_positions: Iterable[OpenPosition] = (),
) -> dict[str, StrategyStats]:
    """Per-strategy statistics plus a ``portfolio`` row over every trade and held position; a
    strategy with positions held but none closed has a row too."""
    expected = dict(expected_win_rates or {})
    by: dict[str, list[ClosedTrade]] = {}
    held: dict[str, list[OpenPosition]] = {}
    all_trades, all_held = list(trades), list(open_positions)
    for t in all_trades:
        by.setdefault(t.strategy, []).append(t)
    for p in all_held:
        held.setdefault(p.strategy, []).append(p)
    names = sorted(set(by) | set(held))
    totals = {n: sum(t.pnl for t in by.get(n, [])) + _open_pnl(held.get(n, [])) for n in names}
    abs_total = sum(abs(v) for v in totals.values())
    out = {n: _stats(n, by.get(n, []), held.get(n, []), expected.get(n), abs_total) for n in names}
    out["portfolio"] = _stats("portfolio", all_trades, all_held, None, 0.0)  # a share of itself says nothing
    return out


def _open_pnl(held: list[OpenPosition]) -> float:
    return sum(u for p in held if (u := p.unrealized_pnl) is not None)


def _trade_pnls(groups: list[ClosedTrade], held: list[OpenPosition]) -> list[float]:
    """P&L of each finished rulebook trade: a campaign or unit with a part still held is not a
    trade yet (its closed parts' P&L is realised all the same)."""
    unfinished = {trade_key(p.strategy, p.campaign, p.group_id) for p in held}
    by_trade: dict[str, float] = {}
    for t in groups:
        key = t.trade or t.group_id
        by_trade[key] = by_trade.get(key, 0.0) + t.pnl
    return [pnl for key, pnl in by_trade.items() if key not in unfinished]


def _stats(
    name: str, trades: list[ClosedTrade], held: list[OpenPosition], expected: float | None, abs_total: float
) -> StrategyStats:
    pnls = _trade_pnls(trades, held)
    wins = [p for p in pnls if outcome(p) > 0]
    losses = [p for p in pnls if outcome(p) < 0]
    n = len(pnls)
    decided = len(wins) + len(losses)
    win_rate = len(wins) / decided if decided else math.nan
    realized = sum(t.pnl for t in trades)
    open_pnl = _open_pnl(held)
    total = realized + open_pnl
    fees = sum(t.fees for t in trades)
    slip = sum(t.slippage for t in trades)
    gross = realized + fees + slip
    daily: dict[date, float] = {}
    for t in trades:
        daily[t.closed] = daily.get(t.closed, 0.0) + t.pnl
    loss_sum = -sum(losses)
    return StrategyStats(
        strategy=name,
        trades=n,
        wins=len(wins),
        losses=len(losses),
        scratches=n - decided,
        win_rate=win_rate,
        expected_win_rate=expected,
        underperforming=bool(
            expected is not None
            and n >= UNDERPERFORMANCE_MIN_TRADES
            and win_rate < UNDERPERFORMANCE_SHARE * expected
        ),
        realized_pnl=realized,
        open_pnl=open_pnl,
        open_positions=len(held),
        unmarked=sum(1 for p in held if p.unrealized_pnl is None),
        total_pnl=total,
        pnl_share=(abs(total) / abs_total * math.copysign(1.0, total)) if abs_total > 0 else math.nan,
        average_win=sum(wins) / len(wins) if wins else math.nan,
        average_loss=sum(losses) / len(losses) if losses else math.nan,
        largest_loss=min(losses) if losses else math.nan,  # no losing trade: no largest loss
        profit_factor=(sum(wins) / loss_sum) if loss_sum > 0 else (math.inf if wins else math.nan),
        expectancy=sum(pnls) / n if n else math.nan,
        fees=fees,
        slippage=slip,
        gross_pnl=gross,
        cost_share_of_gross=((fees + slip) / abs(gross)) if gross else math.nan,
        daily_pnl=daily,
    )


def daily_pnl_correlation(
    daily: Mapping[str, Mapping[date, float]], days: Sequence[date]
) -> tuple[list[str], np.ndarray]:
    """Pearson correlation of strategies' daily P&L over ``days`` (days without P&L count as 0).
    A strategy with constant P&L has no defined correlation: NaN, except 1 on the diagonal."""
    names = sorted(daily)
    if not names:
        return [], np.zeros((0, 0))
    m = np.array([[daily[n].get(d, 0.0) for d in days] for n in names], dtype=float)
    out = np.full((len(names), len(names)), math.nan)
    centred = m - m.mean(axis=1, keepdims=True)
    norms = np.sqrt((centred**2).sum(axis=1))
    for i in range(len(names)):
        out[i, i] = 1.0
        for j in range(i + 1, len(names)):
            if norms[i] > 0 and norms[j] > 0:
                out[i, j] = out[j, i] = float(centred[i] @ centred[j] / (norms[i] * norms[j]))
    return names, out
