// The consumers are compiled without DOM or Node types, to prove the declarations need neither.
declare const console: { log(...values: unknown[]): void };
