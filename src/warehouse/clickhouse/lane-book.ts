/**
 * The checkpoints of a ClickHouse warehouse, as rows of `_tributary_checkpoint` (state.ts): the
 * warehouse's own (MAIN_LANE) when loaded straight from a slot, or one per lane of a feed
 * (../warehouse.ts, LaneStore), each with the epoch of the loader that holds the lane. Kept in
 * memory and read again before a lane's claim or batch, so a loader in another process that
 * claimed the lane later is seen. ClickHouse has no compare-and-set: a claim that lands between
 * that read and the batch's checkpoint is not seen by the batch (its rows are the same rows the
 * new holder writes, with the same versions, so the view stays exact).
 */
import { TributaryError } from '../../core/errors.js';
import { comparePositions, type Position } from '../../core/position.js';
import type { LaneClaim } from '../../feed/feed.js';
import { LaneLost } from '../warehouse.js';
import { type LaneRecord, MAIN_LANE, readLanes, writeLane } from './state.js';
import type { Reader } from './storage-rows.js';

export class LaneBook {
  readonly #reader: Reader;
  #lanes = new Map<number, LaneRecord>();

  constructor(reader: Reader) {
    this.#reader = reader;
  }

  async reload(): Promise<void> {
    this.#lanes = await readLanes(this.#reader.client, this.#reader.context);
  }

  /** The warehouse's checkpoint; loaded by lanes, the least of the lanes' (everything up to it is applied). */
  checkpoint(): Position | null {
    const lanes = [...this.#lanes].filter(([lane]) => lane !== MAIN_LANE);
    if (lanes.length === 0) return this.#lanes.get(MAIN_LANE)?.position ?? null;
    let least: Position | null = null;
    for (const [, { position }] of lanes) {
      if (position && (least === null || comparePositions(position, least) < 0)) least = position;
    }
    return least;
  }

  laneCheckpoints(): ReadonlyMap<number, Position | null> {
    return new Map(
      [...this.#lanes].filter(([lane]) => lane !== MAIN_LANE).map(([lane, r]) => [lane, r.position]),
    );
  }

  /** Records `claim` as the lane's holder; returns where the lane is (the warehouse's checkpoint for a new lane). */
  async claim(claim: LaneClaim): Promise<Position | null> {
    await this.reload();
    const held = this.#lanes.get(claim.lane);
    if (held && held.epoch > claim.epoch) {
      throw new LaneLost(
        claim.lane,
        `lane ${claim.lane} was claimed later by another loader (epoch ${held.epoch})`,
      );
    }
    const record: LaneRecord = {
      epoch: claim.epoch,
      position: held ? held.position : (this.#lanes.get(MAIN_LANE)?.position ?? null),
    };
    await writeLane(this.#reader.client, this.#reader.context, claim.lane, record);
    this.#lanes.set(claim.lane, record);
    return record.position;
  }

  /** Where a batch starts: the lane's checkpoint (refused when another loader holds the lane), or the warehouse's. */
  async startOf(lane: LaneClaim | undefined): Promise<Position | null> {
    if (lane === undefined) {
      if ([...this.#lanes.keys()].some((l) => l !== MAIN_LANE)) {
        throw new TributaryError(
          'CONFIG',
          'this warehouse is loaded from a JetStream feed by lanes (`tributary load`); it cannot also be loaded ' +
            'straight from a slot: go on with `tributary load` (or `run --feed`), or start a new warehouse',
        );
      }
      return this.#lanes.get(MAIN_LANE)?.position ?? null;
    }
    await this.reload();
    const held = this.#lanes.get(lane.lane);
    if (!held || held.epoch !== lane.epoch) {
      throw new LaneLost(
        lane.lane,
        held && held.epoch > lane.epoch
          ? `lane ${lane.lane} is held by another loader now (epoch ${held.epoch}, this batch's ${lane.epoch})`
          : `lane ${lane.lane} was never claimed with epoch ${lane.epoch}`,
      );
    }
    return held.position;
  }

  /** Records `last` as applied: the lane's checkpoint, or the warehouse's; `commitMicros` the newest commit time. */
  async record(last: Position, lane: LaneClaim | undefined, commitMicros: bigint | null): Promise<void> {
    const record = { epoch: lane?.epoch ?? 0n, position: last };
    const number = lane?.lane ?? MAIN_LANE;
    await writeLane(this.#reader.client, this.#reader.context, number, record, commitMicros);
    this.#lanes.set(number, record);
  }
}
