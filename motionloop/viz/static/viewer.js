// motionloop clip viewer: a small WebGL 1 renderer of the capsule body, written for motionloop
// (MIT, like the package). No dependencies, no network. viewer.py inlines this file into each
// page and calls MotionloopViewer(container, data) with the clips' data (see viewer.py).
(function () {
  "use strict";
  if (window.MotionloopViewer) return;

  var CSS = [
    ".mlv{font:13px/1.35 system-ui,sans-serif;color:#1c1e22;max-width:100%}",
    ".mlv-titles{display:flex}",
    ".mlv-title{flex:1;padding:4px 6px;border-left:1px solid #ccd}",
    ".mlv-title b{display:block}",
    ".mlv-metrics{color:#555;font-size:12px}",
    ".mlv canvas{width:100%;display:block;background:#dfe5ec;cursor:grab}",
    ".mlv-controls{display:flex;gap:8px;align-items:center;padding:6px 0}",
    ".mlv-controls input[type=range]{flex:1}",
    ".mlv-frame{min-width:150px;font-variant-numeric:tabular-nums}",
    ".mlv-cells{position:relative}",
    ".mlv-overlay{position:absolute;left:0;top:0;right:0;bottom:0;display:grid;pointer-events:none}",
    ".mlv-overlay .mlv-title{border:0;align-self:start;background:rgba(247,248,250,.75)}"
  ].join("\n");

  function decode(b64, Type) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }

  // ---------------------------------------------------------------- small matrix library
  // 4x4 matrices are column-major Float32Arrays, as WebGL expects.
  function mul(a, b) {
    var o = new Float32Array(16);
    for (var c = 0; c < 4; c++)
      for (var r = 0; r < 4; r++) {
        var s = 0;
        for (var k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
        o[c * 4 + r] = s;
      }
    return o;
  }
  function perspective(fovy, aspect, near, far) {
    var f = 1 / Math.tan(fovy / 2), o = new Float32Array(16);
    o[0] = f / aspect; o[5] = f; o[10] = (far + near) / (near - far); o[11] = -1;
    o[14] = 2 * far * near / (near - far);
    return o;
  }
  function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
  function cross(a, b) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]; }
  function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
  function norm(a) { var l = Math.sqrt(dot(a, a)) || 1; return [a[0] / l, a[1] / l, a[2] / l]; }
  function lookAt(eye, target, up) {
    var f = norm(sub(target, eye)), s = norm(cross(f, up)), u = cross(s, f);
    return new Float32Array([s[0], u[0], -f[0], 0, s[1], u[1], -f[1], 0, s[2], u[2], -f[2], 0,
      -dot(s, eye), -dot(u, eye), dot(f, eye), 1]);
  }
  // model matrix from three axis columns and an origin
  function frame(x, y, z, o) {
    return new Float32Array([x[0], x[1], x[2], 0, y[0], y[1], y[2], 0, z[0], z[1], z[2], 0, o[0], o[1], o[2], 1]);
  }
  // rotate local vector v by quaternion q = (w, x, y, z)
  function qrot(q, v) {
    var w = q[0], x = q[1], y = q[2], z = q[3];
    var tx = 2 * (y * v[2] - z * v[1]), ty = 2 * (z * v[0] - x * v[2]), tz = 2 * (x * v[1] - y * v[0]);
    return [v[0] + w * tx + y * tz - z * ty, v[1] + w * ty + z * tx - x * tz, v[2] + w * tz + x * ty - y * tx];
  }
  function add(a, b) { return [a[0] + b[0], a[1] + b[1], a[2] + b[2]]; }
  function scale(a, s) { return [a[0] * s, a[1] * s, a[2] * s]; }

  // ---------------------------------------------------------------- meshes (positions + normals)
  function sphereMesh(nLat, nLon) {
    var p = [], idx = [];
    for (var i = 0; i <= nLat; i++) {
      var th = Math.PI * i / nLat;
      for (var j = 0; j <= nLon; j++) {
        var ph = 2 * Math.PI * j / nLon;
        var v = [Math.sin(th) * Math.cos(ph), Math.cos(th), Math.sin(th) * Math.sin(ph)];
        p.push(v[0], v[1], v[2], v[0], v[1], v[2]);
      }
    }
    for (i = 0; i < nLat; i++)
      for (j = 0; j < nLon; j++) {
        var a = i * (nLon + 1) + j, b = a + nLon + 1;
        idx.push(a, b, a + 1, b, b + 1, a + 1);
      }
    return { data: p, index: idx };
  }
  function cylinderMesh(n) {  // radius 1 about y, from y = 0 to y = 1, no caps
    var p = [], idx = [];
    for (var j = 0; j <= n; j++) {
      var ph = 2 * Math.PI * j / n, c = Math.cos(ph), s = Math.sin(ph);
      p.push(c, 0, s, c, 0, s, c, 1, s, c, 0, s);
    }
    for (j = 0; j < n; j++) { var a = 2 * j; idx.push(a, a + 1, a + 2, a + 1, a + 3, a + 2); }
    return { data: p, index: idx };
  }
  function cubeMesh() {  // from -1 to 1 on each axis
    var p = [], idx = [], faces = [[0, 1], [0, -1], [1, 1], [1, -1], [2, 1], [2, -1]];
    faces.forEach(function (f, k) {
      var ax = f[0], sg = f[1], u = (ax + 1) % 3, v = (ax + 2) % 3;
      [[-1, -1], [1, -1], [1, 1], [-1, 1]].forEach(function (uv) {
        var q = [0, 0, 0], nrm = [0, 0, 0];
        q[ax] = sg; q[u] = uv[0] * sg; q[v] = uv[1]; nrm[ax] = sg;
        p.push(q[0], q[1], q[2], nrm[0], nrm[1], nrm[2]);
      });
      var b = 4 * k; idx.push(b, b + 1, b + 2, b, b + 2, b + 3);
    });
    return { data: p, index: idx };
  }

  var VS = "attribute vec3 aPos; attribute vec3 aNrm; uniform mat4 uMvp; uniform mat4 uModel;" +
    "varying vec3 vN; void main(){ vN = mat3(uModel) * aNrm; gl_Position = uMvp * vec4(aPos, 1.0); }";
  var FS = "precision mediump float; varying vec3 vN; uniform vec4 uColor; uniform vec3 uLight; uniform float uLit;" +
    "void main(){ vec3 n = normalize(vN); float d = max(dot(n, uLight), 0.0);" +
    " float k = mix(1.0, 0.45 + 0.6 * d, uLit); gl_FragColor = vec4(uColor.rgb * k, uColor.a); }";

  function compile(gl, type, src) {
    var s = gl.createShader(type);
    gl.shaderSource(s, src); gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
    return s;
  }

  function upload(gl, mesh, mode) {
    var vb = gl.createBuffer(), ib = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, vb);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array(mesh.data), gl.STATIC_DRAW);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ib);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, new Uint16Array(mesh.index), gl.STATIC_DRAW);
    return { vb: vb, ib: ib, count: mesh.index.length, mode: mode === undefined ? gl.TRIANGLES : mode };
  }

  // 1 m lines on z = 0 within +-half m, cut into 1 m pieces: a piece behind the eye is then
  // dropped whole (SwiftShader loses whole lines that cross behind the eye); normals unused
  function gridMesh(half) {
    var p = [], idx = [], n = 0;
    for (var k = -half; k <= half; k++)
      for (var t = -half; t < half; t++) {
        p.push(k, t, 0, 0, 0, 1, k, t + 1, 0, 0, 0, 1, t, k, 0, 0, 0, 1, t + 1, k, 0, 0, 0, 1);
        idx.push(n, n + 1, n + 2, n + 3); n += 4;
      }
    return { data: p, index: idx };
  }

  // ---------------------------------------------------------------- the viewer
  function MotionloopViewer(container, data) {
    if (!document.getElementById("mlv-style")) {
      var st = document.createElement("style"); st.id = "mlv-style"; st.textContent = CSS;
      document.head.appendChild(st);
    }
    var clips = data.clips.map(function (c) {
      return {
        title: c.title, label: c.label, metrics: c.metrics, frames: c.frames,
        pos: decode(c.pos, Float32Array), quat: decode(c.quat, Float32Array),
        look: decode(c.look, Float32Array), flags: decode(c.flags, Uint8Array)
      };
    });
    var geoms = data.geoms, G = geoms.length, nFrames = data.frames, fps = data.fps;
    container.classList.add("mlv");
    container.innerHTML = "";
    var titles = document.createElement("div"); titles.className = "mlv-titles";
    clips.forEach(function (c) {
      var d = document.createElement("div"); d.className = "mlv-title";
      var b = document.createElement("b"); b.textContent = c.title; d.appendChild(b);
      var m = document.createElement("span"); m.className = "mlv-metrics";
      m.textContent = (c.label ? "label: " + c.label + "  " : "") + (c.metrics || "");
      d.appendChild(m); titles.appendChild(d);
    });
    var canvas = document.createElement("canvas");
    var controls = document.createElement("div"); controls.className = "mlv-controls";
    controls.innerHTML = '<button type="button" class="mlv-play">Pause</button>' +
      '<input type="range" class="mlv-scrub" min="0" step="1" value="0">' +
      '<span class="mlv-frame"></span>' +
      '<label>speed <select class="mlv-speed"><option>0.25</option><option>0.5</option>' +
      '<option selected>1</option><option>2</option></select></label>' +
      '<label><input type="checkbox" class="mlv-follow" checked> follow</label>';
    // a grid of `columns` clips per row (titles over each cell), or one row (titles above)
    var cols = Math.max(1, Math.min(data.columns || clips.length, clips.length));
    var rows = Math.ceil(clips.length / cols);
    if (rows > 1) {
      var cells = document.createElement("div"); cells.className = "mlv-cells";
      titles.className = "mlv-overlay";
      titles.style.gridTemplateColumns = "repeat(" + cols + ", 1fr)";
      titles.style.gridTemplateRows = "repeat(" + rows + ", 1fr)";
      cells.appendChild(canvas); cells.appendChild(titles);
      container.appendChild(cells); container.appendChild(controls);
    } else {
      container.appendChild(titles); container.appendChild(canvas); container.appendChild(controls);
    }
    var playBtn = controls.querySelector(".mlv-play"), scrub = controls.querySelector(".mlv-scrub");
    var label = controls.querySelector(".mlv-frame"), speedSel = controls.querySelector(".mlv-speed");
    var follow = controls.querySelector(".mlv-follow");
    scrub.max = String(nFrames - 1);

    var state = { frame: 0, playing: true, time: 0, az: data.camera.azimuth, el: data.camera.elevation,
                  dist: data.camera.distance, dirty: true, draws: 0 };
    var gl = canvas.getContext("webgl", { antialias: true, preserveDrawingBuffer: true });
    var api = { state: state, canvas: canvas, setFrame: setFrame, error: null };
    (window.motionloopViewers = window.motionloopViewers || []).push(api);
    if (!gl) {
      api.error = "WebGL is not available in this browser";
      label.textContent = api.error;
      return api;
    }
    var prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VS));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(prog);
    gl.useProgram(prog);
    var loc = {
      pos: gl.getAttribLocation(prog, "aPos"), nrm: gl.getAttribLocation(prog, "aNrm"),
      mvp: gl.getUniformLocation(prog, "uMvp"), model: gl.getUniformLocation(prog, "uModel"),
      color: gl.getUniformLocation(prog, "uColor"), light: gl.getUniformLocation(prog, "uLight"),
      lit: gl.getUniformLocation(prog, "uLit")
    };
    var mesh = { sphere: upload(gl, sphereMesh(10, 16)), cyl: upload(gl, cylinderMesh(16)), cube: upload(gl, cubeMesh()),
                 grid: upload(gl, gridMesh(10), gl.LINES),
                 floor: upload(gl, { data: [-1, -1, 0, 0, 0, 1, 1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, -1, 1, 0, 0, 0, 1],
                                     index: [0, 1, 2, 0, 2, 3] }) };
    gl.enable(gl.DEPTH_TEST);
    gl.enable(gl.SCISSOR_TEST);

    function draw(m, model, viewProj, color, lit) {
      gl.bindBuffer(gl.ARRAY_BUFFER, m.vb);
      gl.enableVertexAttribArray(loc.pos); gl.vertexAttribPointer(loc.pos, 3, gl.FLOAT, false, 24, 0);
      gl.enableVertexAttribArray(loc.nrm); gl.vertexAttribPointer(loc.nrm, 3, gl.FLOAT, false, 24, 12);
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, m.ib);
      gl.uniformMatrix4fv(loc.mvp, false, mul(viewProj, model));
      gl.uniformMatrix4fv(loc.model, false, model);
      gl.uniform4fv(loc.color, color); gl.uniform1f(loc.lit, lit);
      gl.drawElements(m.mode, m.count, gl.UNSIGNED_SHORT, 0);
    }

    function colourOf(g, flag) {
      if (flag & 2) return data.colours.under;
      if (flag & 1) return data.colours.contact;
      return geoms[g].type === "box" ? data.colours.foot : data.colours.skin;
    }

    function drawClip(c, k, viewProj) {
      var P = c.pos, Q = c.quat;
      for (var g = 0; g < G; g++) {
        var geo = geoms[g], j = geo.joint;
        var p = [P[(k * 24 + j) * 3], P[(k * 24 + j) * 3 + 1], P[(k * 24 + j) * 3 + 2]];
        var q = [Q[(k * 24 + j) * 4], Q[(k * 24 + j) * 4 + 1], Q[(k * 24 + j) * 4 + 2], Q[(k * 24 + j) * 4 + 3]];
        var col = colourOf(g, c.flags[k * G + g]);
        if (geo.type === "box") {
          var o = add(p, qrot(q, geo.center)), h = geo.half;
          draw(mesh.cube, frame(scale(qrot(q, [1, 0, 0]), h[0]), scale(qrot(q, [0, 1, 0]), h[1]),
            scale(qrot(q, [0, 0, 1]), h[2]), o), viewProj, col, 1);
          continue;
        }
        var A = add(p, qrot(q, geo.a)), B = add(p, qrot(q, geo.b)), r = geo.radius, d = sub(B, A);
        draw(mesh.sphere, frame([r, 0, 0], [0, r, 0], [0, 0, r], A), viewProj, col, 1);
        if (dot(d, d) < 1e-12) continue;
        draw(mesh.sphere, frame([r, 0, 0], [0, r, 0], [0, 0, r], B), viewProj, col, 1);
        var dn = norm(d), helper = Math.abs(dn[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0];
        var u = norm(cross(dn, helper)), w = cross(u, dn);
        draw(mesh.cyl, frame(scale(u, r), d, scale(w, r), A), viewProj, col, 1);
      }
    }

    function render() {
      var dpr = window.devicePixelRatio || 1;
      var W = Math.max(1, Math.round(canvas.clientWidth * dpr));
      var vw = Math.floor(W / cols), cellH = Math.round(W / cols * 0.75), H = cellH * rows;
      if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; }
      var az = state.az * Math.PI / 180, el = state.el * Math.PI / 180;
      var fwd = [Math.cos(el) * Math.cos(az), Math.cos(el) * Math.sin(az), Math.sin(el)];
      gl.useProgram(prog);
      gl.uniform3fv(loc.light, norm([-fwd[0] + 0.3, -fwd[1] + 0.2, -fwd[2] + 0.8]));
      clips.forEach(function (c, i) {
        var k = Math.min(state.frame, c.frames - 1);
        var target = follow.checked ? [c.look[3 * k], c.look[3 * k + 1], c.look[3 * k + 2]]
                                    : [c.look[0], c.look[1], c.look[2]];
        var eye = sub(target, scale(fwd, state.dist));
        var viewProj = mul(perspective(data.camera.fovy * Math.PI / 180, vw / cellH, 0.2, 60), lookAt(eye, target, [0, 0, 1]));
        var x = (i % cols) * vw, y = (rows - 1 - Math.floor(i / cols)) * cellH;  // GL's origin: bottom left
        gl.viewport(x, y, vw, cellH); gl.scissor(x, y, vw, cellH);
        gl.clearColor(0.87, 0.9, 0.94, 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
        var cx = Math.round(target[0]), cy = Math.round(target[1]);
        draw(mesh.floor, frame([12, 0, 0], [0, 12, 0], [0, 0, 1], [cx, cy, -0.01]), viewProj, [0.74, 0.77, 0.8, 1], 0);
        draw(mesh.grid, frame([1, 0, 0], [0, 1, 0], [0, 0, 1], [cx, cy, 0]), viewProj, [0.55, 0.58, 0.62, 1], 0);
        drawClip(c, k, viewProj);
      });
      var t = state.frame / fps;
      label.textContent = "frame " + (state.frame + 1) + "/" + nFrames + "  " + t.toFixed(2) + " s";
      scrub.value = String(state.frame);
      state.dirty = false; state.draws++;
    }

    function setFrame(k) {
      state.frame = Math.max(0, Math.min(nFrames - 1, k | 0));
      state.time = state.frame / fps;
      state.dirty = true;
    }

    var last = null;
    function tick(now) {
      if (last !== null && state.playing) {
        state.time += (now - last) / 1000 * parseFloat(speedSel.value);
        var k = Math.floor(state.time * fps) % nFrames;
        if (k !== state.frame) { state.frame = k; state.dirty = true; }
      }
      last = now;
      if (state.dirty) render();
      window.requestAnimationFrame(tick);
    }

    playBtn.addEventListener("click", function () {
      state.playing = !state.playing; playBtn.textContent = state.playing ? "Pause" : "Play";
    });
    scrub.addEventListener("input", function () {
      state.playing = false; playBtn.textContent = "Play"; setFrame(parseInt(scrub.value, 10));
    });
    follow.addEventListener("change", function () { state.dirty = true; });
    var drag = null;
    canvas.addEventListener("mousedown", function (e) { drag = [e.clientX, e.clientY]; e.preventDefault(); });
    window.addEventListener("mouseup", function () { drag = null; });
    window.addEventListener("mousemove", function (e) {
      if (!drag) return;
      state.az -= (e.clientX - drag[0]) * 0.4;
      state.el = Math.max(-89, Math.min(10, state.el + (e.clientY - drag[1]) * 0.3));
      drag = [e.clientX, e.clientY]; state.dirty = true;
    });
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      state.dist = Math.max(0.5, Math.min(30, state.dist * Math.exp(e.deltaY * 0.001))); state.dirty = true;
    }, { passive: false });
    window.addEventListener("resize", function () { state.dirty = true; });
    window.requestAnimationFrame(tick);
    return api;
  }

  window.MotionloopViewer = MotionloopViewer;
})();
