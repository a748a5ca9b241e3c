// @ts-check
import tseslint from 'typescript-eslint';

const PURE_DOMAIN_SYNTAX = [
  { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'domain/ reads no clock: time arrives on the command.' },
  { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'domain/ reads no clock: time arrives on the command.' },
  { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'domain/ makes no random values: ids arrive on the command.' },
  { selector: "Identifier[name='randomUUID']", message: 'domain/ generates no ids: they arrive on the command.' },
  { selector: "Identifier[name='process']", message: 'domain/ does no I/O and reads no environment.' },
  { selector: "Identifier[name='fetch']", message: 'domain/ does no I/O.' },
  { selector: "CallExpression[callee.name='require']", message: 'domain/ imports statically, and only pure modules.' },
];

/*
 * Layers, innermost first; each imports only the layers before it (a rule per layer below):
 *   events/       the catalogue and the store            imports nothing of ours
 *   domain/       pure deciders                          events/catalogue
 *   projections/  read models                            events/ (and domain/)
 *   schema/       the GraphQL edge                       domain/, events/, projections/
 *   src/          composition: server, database, CLI     anything
 * test/ and bench/ may import every layer.
 */
export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.okr-data/**', 'bench/results.json'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      'no-console': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // domain/ is pure decision logic: no ORM, no pg, no GraphQL, no clock, no random ids, no I/O.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./[A-Za-z]+$|\\.\\./events/catalogue$)',
              message: 'domain/ imports only other domain/ modules and events/catalogue.',
            },
          ],
        },
      ],
      'no-restricted-syntax': ['error', ...PURE_DOMAIN_SYNTAX],
    },
  },
  {
    // events/ is the catalogue and the store: it talks SQL through events/sql.ts, never the ORM or the API.
    files: ['events/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(@mikro-orm/|graphql|type-graphql|@apollo/|pg$|\\.\\./(schema|projections|src|domain)/)',
              message: 'events/ depends on nothing but itself: no ORM, driver, GraphQL, domain or projections.',
            },
          ],
        },
      ],
    },
  },
  {
    // projections/ fold events into documents; they never reach up into the API or the composition root.
    files: ['projections/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(graphql|type-graphql|@apollo/|\\.\\./(schema|src)/)', message: 'projections/ do not import the API or src/.' }] },
      ],
    },
  },
  {
    // schema/ is the GraphQL edge: it reads projections and calls the commands' interface (domain/commands.ts);
    // the composition root (src/) plugs the implementations in, so schema/ never imports src/ or the ORM.
    files: ['schema/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(@mikro-orm/|pg$|(\\.\\./)+src(/|$))',
              message: 'schema/ imports domain/, events/ and projections/ only: no src/, no ORM or driver (put an interface below schema/ and implement it in src/).',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests and benchmarks may reach any layer.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
