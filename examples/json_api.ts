/**
 * A small in-memory JSON CRUD API for to-do items, built with the router.
 *
 *     deno run --allow-net examples/json_api.ts [--port 8000]
 *
 *     curl -i localhost:8000/todos -d '{"title": "write the docs"}'   # 201, Location: /todos/1
 *     curl localhost:8000/todos/1
 *     curl -X PATCH localhost:8000/todos/1 -d '{"done": true}'
 *     curl -X DELETE localhost:8000/todos/1                           # 204
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serve } from "../lib/mod.ts";
import { Router } from "../lib/handlers/router.ts";

/** A to-do item as the API stores and returns it. */
export interface Todo {
  id: number;
  title: string;
  done: boolean;
}

/** A client error; `onError` turns it into a 400. */
class BadRequest extends Error {}

/** No such to-do; `onError` turns it into a 404. */
class NotFound extends Error {}

/** Errors are JSON too: `{ "error": "…" }`. */
function problem(status: number, error: string): Response {
  return Response.json({ error }, { status });
}

/**
 * Reads a to-do from the request body. A full one (POST, PUT) needs a title; a partial one
 * (PATCH) may carry either field.
 */
async function readTodo(request: Request, partial: boolean): Promise<Partial<Todo>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new BadRequest("the body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadRequest("expected a JSON object");
  }
  const { title, done } = body as Record<string, unknown>;
  if (title !== undefined && (typeof title !== "string" || title.trim() === "")) {
    throw new BadRequest("title must be a non-empty string");
  }
  if (done !== undefined && typeof done !== "boolean") {
    throw new BadRequest("done must be true or false");
  }
  if (!partial && title === undefined) throw new BadRequest("title is required");
  return { title, done };
}

/**
 * Builds the API with an empty store: `GET/POST /todos`, `GET/PUT/PATCH/DELETE /todos/:id`.
 *
 * @example
 * ```ts
 * import { createApi } from "./json_api.ts";
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
 *   completed: Promise.resolve(),
 * };
 * const created = await createApi().fetch(
 *   new Request("http://localhost/todos", { method: "POST", body: '{"title":"milk"}' }),
 *   info,
 * );
 * console.log(created.status, created.headers.get("location")); // 201 /todos/1
 * ```
 */
export function createApi(): Router {
  const todos = new Map<number, Todo>();
  let nextId = 1;

  /** The to-do the `:id` param names; missing ones answer 404 through `onError`. */
  const find = (id: string): Todo => {
    const todo = todos.get(Number(id));
    if (todo === undefined) throw new NotFound(`no todo with id ${id}`);
    return todo;
  };

  return new Router({
    notFound: () => problem(404, "no such resource"),
    onError: (error) => {
      if (error instanceof BadRequest) return problem(400, error.message);
      if (error instanceof NotFound) return problem(404, error.message);
      console.error(error);
      return problem(500, "internal error");
    },
  })
    .get("/todos", () => Response.json([...todos.values()]))
    .post("/todos", async (request) => {
      const { title, done } = await readTodo(request, false);
      const todo: Todo = { id: nextId++, title: title!, done: done ?? false };
      todos.set(todo.id, todo);
      return Response.json(todo, { status: 201, headers: { location: `/todos/${todo.id}` } });
    })
    .get("/todos/:id(\\d+)", (_request, { params }) => Response.json(find(params.id)))
    .put("/todos/:id(\\d+)", async (request, { params }) => {
      const todo = find(params.id);
      const { title, done } = await readTodo(request, false);
      Object.assign(todo, { title, done: done ?? false });
      return Response.json(todo);
    })
    .patch("/todos/:id(\\d+)", async (request, { params }) => {
      const todo = find(params.id);
      const { title, done } = await readTodo(request, true);
      if (title !== undefined) todo.title = title;
      if (done !== undefined) todo.done = done;
      return Response.json(todo);
    })
    .delete("/todos/:id(\\d+)", (_request, { params }) => {
      todos.delete(find(params.id).id);
      return new Response(null, { status: 204 });
    });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "8000" } } });
  serve({ port: Number(values.port) }, createApi().fetch);
}
