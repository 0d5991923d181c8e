/**
 * The backlog both benchmarks drain: table `bench` (a realistic mix of types), a publication
 * for it, and the procedure `bench_backlog(rounds)` that writes ${CHANGES_PER_ROUND} changes a
 * round (60% inserts, 30% updates, 10% deletes, in transactions of 100 rows).
 */

export const CHANGES_PER_ROUND = 1000;

export function backlogSql(publication: string): string {
  return `
CREATE TABLE bench (
  id         bigint PRIMARY KEY,
  qty        integer NOT NULL,
  price      numeric(12,2) NOT NULL,
  label      text NOT NULL,
  created_at timestamptz NOT NULL,
  active     boolean NOT NULL,
  attrs      jsonb NOT NULL,
  ref        uuid NOT NULL
);
CREATE PUBLICATION ${publication} FOR TABLE bench;

-- Per round of ${CHANGES_PER_ROUND} changes: 6 transactions of 100 inserts, 3 of 100 updates
-- (of rows inserted in the round), 1 of 100 deletes (of other rows inserted in the round).
CREATE PROCEDURE bench_backlog(rounds integer) LANGUAGE plpgsql AS $$
DECLARE
  base bigint;
BEGIN
  FOR r IN 0 .. rounds - 1 LOOP
    base := r::bigint * 600;
    FOR k IN 0 .. 5 LOOP
      INSERT INTO bench
      SELECT g,
             (g % 1000)::integer,
             round((g % 100000) * 1.37, 2),
             'item ' || g || ' of batch ' || r || ' / warehouse ' || (g % 17),
             timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
             g % 3 = 0,
             jsonb_build_object('color', (ARRAY['red','green','blue'])[1 + g % 3], 'size', g % 40,
                                'tags', jsonb_build_array('a', 'b', g % 7)),
             md5(g::text)::uuid
        FROM generate_series(base + k * 100 + 1, base + k * 100 + 100) AS g;
      COMMIT;
    END LOOP;
    FOR k IN 0 .. 2 LOOP
      UPDATE bench
         SET qty = qty + 1,
             price = price + 0.25,
             label = label || ' (updated)',
             active = NOT active,
             attrs = attrs || '{"updated": true}'
       WHERE id BETWEEN base + k * 100 + 1 AND base + k * 100 + 100;
      COMMIT;
    END LOOP;
    DELETE FROM bench WHERE id BETWEEN base + 501 AND base + 600;
    COMMIT;
  END LOOP;
END
$$;
`;
}
