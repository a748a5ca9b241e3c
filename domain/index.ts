export * from './errors';
export * from './validate';
export * from './calendar';
export * from './unit';
export * from './quarter';
export * from './objective';
export * from './keyResult';
export * from './commands';
