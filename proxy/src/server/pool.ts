// Backend connections of one shard, pooled under [pool]: max_open (waiters queue FIFO beyond it),
// max_idle, max_age_secs and max_idle_time_secs.
//
// A connection handed out is pinned to one client session until that session ends; it comes back
// through release(), which resets it with COM_RESET_CONNECTION (rolling back any open transaction)
// before another session can get it, or discards it when that is not possible.
import {
  BackendConnection,
  BackendError,
  type BackendTarget,
  type SessionProfile,
} from './backendConnection.ts';
import { ErrorCode } from '../protocol/constants.ts';
import type { BackendTraffic } from '../metrics/metrics.ts';

export interface PoolSettings {
  max_idle: number;
  max_age_secs: number;
  max_idle_time_secs: number;
  max_open: number;
}

export interface PoolOptions {
  shard: string;
  target: BackendTarget;
  /** The shard's configured default database, used when the client names none. */
  defaultDatabase: string | null;
  settings: PoolSettings;
  connectTimeoutMs: number;
  /** How long a session waits for a connection when max_open are in use. */
  waitTimeoutMs: number;
  /** Opens a connection; BackendConnection.connect by default (a parameter for tests). */
  connect?: typeof BackendConnection.connect;
  /** Counts the round trips and bytes of this pool's connections (the metrics' counters). */
  traffic?: BackendTraffic;
  now?: () => number;
  log?: (message: string) => void;
}

interface Waiter {
  profile: SessionProfile;
  database: string | null;
  resolve: (conn: BackendConnection) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class ShardPool {
  readonly shard: string;
  private readonly idle: BackendConnection[] = [];
  /** Connections open or being opened: idle + in use + connecting + resetting. */
  private open = 0;
  private inUse = 0;
  private readonly waiters: Waiter[] = [];
  private readonly connect: typeof BackendConnection.connect;
  private readonly now: () => number;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private closing = false;
  /** Result of the last connection attempt: the health check reads it. */
  reachable: boolean | null = null;
  lastError: string | null = null;
  serverVersion: string | null = null;
  serverCapabilities: number | null = null;
  /**
   * Databases a connection was recently opened on or switched to. A client naming one of these in
   * its handshake is accepted without asking the server; any other name is checked first, so an
   * unknown database fails the handshake with 1049 as it does on MySQL. Forgotten whenever a
   * statement Athena does not recognise (which may be DROP DATABASE) runs.
   */
  readonly knownDatabases = new Set<string>();

  constructor(private readonly options: PoolOptions) {
    this.shard = options.shard;
    this.connect = options.connect ?? BackendConnection.connect;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
  }

  stats(): { shard: string; idle: number; active: number } {
    return { shard: this.shard, idle: this.idle.length, active: this.inUse };
  }

  /**
   * A connection for a session with `profile`, its default database set to `database` (or the shard's
   * default). Rejects with a BackendError the client can be shown.
   */
  async acquire(profile: SessionProfile, database: string | null): Promise<BackendConnection> {
    if (this.closing)
      throw new BackendError(
        ErrorCode.SERVER_SHUTDOWN.errno,
        ErrorCode.SERVER_SHUTDOWN.sqlState,
        'Server shutdown in progress',
      );
    const db = database ?? this.options.defaultDatabase;
    const conn = this.takeIdle(profile, db);
    if (conn !== null) {
      this.inUse++;
      return this.prepare(conn, profile, db);
    }
    if (this.open < this.options.settings.max_open) return this.openNew(profile, db);
    // At max_open: trade an idle connection of another profile for a new one, or wait.
    const other = this.idle.shift();
    if (other !== undefined) {
      this.closeConnection(other);
      return this.openNew(profile, db);
    }
    return new Promise<BackendConnection>((resolve, reject) => {
      const waiter: Waiter = {
        profile,
        database: db,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(
            new BackendError(
              ErrorCode.CON_COUNT_ERROR.errno,
              ErrorCode.CON_COUNT_ERROR.sqlState,
              `Too many connections: all ${this.options.settings.max_open} backend connections of shard '${this.shard}' are in use (pool.max_open)`,
            ),
          );
        }, this.options.waitTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Gives a connection back. `reusable` is false when its state is unknown (the session ended
   * mid-command): it is closed. Otherwise it is reset before it can serve anyone else.
   */
  release(conn: BackendConnection, reusable: boolean): void {
    conn.sink = null;
    this.inUse--;
    if (!reusable || conn.closed || conn.discardOnRelease || this.closing) {
      this.closeConnection(conn);
      this.serveWaiters();
      return;
    }
    this.inUse++; // still counted as busy while resetting
    void conn.reset(this.options.connectTimeoutMs).then((ok) => {
      this.inUse--;
      // The reset keeps the schema; reset() asked the server which one it is (see PROTOCOL.md).
      if (!ok || conn.closed || this.closing) {
        this.closeConnection(conn);
      } else {
        conn.lastUsedAt = this.now();
        const waiter = this.waiters.shift();
        if (waiter !== undefined) {
          clearTimeout(waiter.timer);
          this.inUse++;
          this.prepare(conn, waiter.profile, waiter.database).then(waiter.resolve, waiter.reject);
          return;
        }
        this.putIdle(conn);
      }
      this.serveWaiters();
    });
  }

  /** Closes idle connections and fails waiters; in-use connections close as their sessions release them. */
  close(): void {
    this.closing = true;
    clearInterval(this.sweeper);
    for (const conn of this.idle.splice(0)) this.closeConnection(conn);
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(
        new BackendError(
          ErrorCode.SERVER_SHUTDOWN.errno,
          ErrorCode.SERVER_SHUTDOWN.sqlState,
          'Server shutdown in progress',
        ),
      );
    }
  }

  /** Opens a connection only to learn whether the backend is reachable (and its version); keeps it idle. */
  async probe(profile: SessionProfile): Promise<boolean> {
    if (this.open >= this.options.settings.max_open) return this.reachable ?? true;
    try {
      const conn = await this.openNew(profile, this.options.defaultDatabase);
      this.release(conn, true);
      return true;
    } catch {
      return false;
    }
  }

  private takeIdle(profile: SessionProfile, db: string | null): BackendConnection | null {
    let fallback = -1;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i]!;
      if (conn.profile.key !== profile.key) continue;
      if (conn.currentDb === db) {
        this.idle.splice(i, 1);
        return conn;
      }
      // A database can be selected with COM_INIT_DB, but never unselected.
      if (fallback < 0 && db !== null) fallback = i;
    }
    if (fallback >= 0) return this.idle.splice(fallback, 1)[0]!;
    return null;
  }

  /** Sets the database of a reused connection; on failure the connection goes back idle. */
  private async prepare(
    conn: BackendConnection,
    profile: SessionProfile,
    db: string | null,
  ): Promise<BackendConnection> {
    if (conn.profile.key !== profile.key || (db === null && conn.currentDb !== null)) {
      this.inUse--;
      this.closeConnection(conn);
      return this.openNew(profile, db);
    }
    if (db !== null && conn.currentDb !== db) {
      try {
        await conn.useDatabase(db, this.options.connectTimeoutMs);
        this.knownDatabases.add(db);
      } catch (error) {
        this.inUse--;
        if (conn.closed) this.closeConnection(conn);
        else this.putIdle(conn);
        this.serveWaiters();
        throw error instanceof BackendError ? error : this.connectError(error);
      }
    }
    return conn;
  }

  private async openNew(profile: SessionProfile, db: string | null): Promise<BackendConnection> {
    this.open++;
    this.inUse++;
    try {
      const conn = await this.connect(
        this.options.target,
        profile,
        db,
        this.options.connectTimeoutMs,
        this.now,
      );
      this.reachable = true;
      this.lastError = null;
      this.serverVersion = conn.serverVersion;
      this.serverCapabilities = conn.serverCapabilities;
      if (db !== null) this.knownDatabases.add(db);
      if (this.options.traffic) {
        conn.traffic = this.options.traffic;
        conn.traffic.roundTrips++; // the login
      }
      conn.socket.once('close', () => this.onConnectionClosed(conn));
      return conn;
    } catch (error) {
      this.open--;
      this.inUse--;
      const e = error instanceof BackendError ? error : this.connectError(error);
      if (e.errno === ErrorCode.CONN_HOST_ERROR.errno) this.reachable = false;
      this.lastError = e.message;
      this.serveWaiters();
      throw e;
    }
  }

  private connectError(error: unknown): BackendError {
    const { host, port } = this.options.target;
    return new BackendError(
      ErrorCode.CONN_HOST_ERROR.errno,
      ErrorCode.CONN_HOST_ERROR.sqlState,
      `Can't connect to MySQL server on '${host}:${port}' (${error instanceof Error ? error.message : String(error)})`,
    );
  }

  private readonly counted = new WeakSet<BackendConnection>();

  private closeConnection(conn: BackendConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (!this.counted.has(conn)) {
      this.counted.add(conn);
      this.open--;
    }
    if (!conn.closed) conn.quit();
  }

  /** A connection that closed on its own (server gone, killed): forget it. */
  private onConnectionClosed(conn: BackendConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (!this.counted.has(conn)) {
      this.counted.add(conn);
      this.open--;
      this.serveWaiters();
    }
  }

  /** Opens connections for waiters while there is room under max_open. */
  private serveWaiters(): void {
    while (this.waiters.length > 0 && this.open < this.options.settings.max_open && !this.closing) {
      const waiter = this.waiters.shift()!;
      clearTimeout(waiter.timer);
      const conn = this.takeIdle(waiter.profile, waiter.database);
      if (conn !== null) {
        this.inUse++;
        this.prepare(conn, waiter.profile, waiter.database).then(waiter.resolve, waiter.reject);
      } else {
        this.openNew(waiter.profile, waiter.database).then(waiter.resolve, waiter.reject);
      }
    }
  }

  private putIdle(conn: BackendConnection): void {
    if (this.expired(conn) || this.options.settings.max_idle === 0) {
      this.closeConnection(conn);
      return;
    }
    // Over max_idle, the least recently used idle connection makes room: it may be of a profile
    // nobody uses any more, while this one was just used.
    while (this.idle.length >= this.options.settings.max_idle) this.closeConnection(this.idle[0]!);
    this.idle.push(conn);
  }

  private expired(conn: BackendConnection): boolean {
    const now = this.now();
    const { max_age_secs, max_idle_time_secs } = this.options.settings;
    return (
      (max_age_secs > 0 && now - conn.createdAt >= max_age_secs * 1000) ||
      (max_idle_time_secs > 0 && now - conn.lastUsedAt >= max_idle_time_secs * 1000)
    );
  }

  /** Closes idle connections past max_age_secs or max_idle_time_secs. */
  sweep(): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i]!;
      if (this.expired(conn)) this.closeConnection(conn);
    }
  }
}
